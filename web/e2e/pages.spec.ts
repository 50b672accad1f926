// History, Teams and Settings against the real `cadre serve`: sign in through the login
// form, store a provider key and see only its mask, list runs made through the API with
// the status filter, import / edit / persist / export a team. Screenshots of each page
// (plus Settings in dark mode and at a phone size) go to test-results/screens/.
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { expectNoSidewaysScroll, shoot, signInAt } from './pages-helpers';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startServer, type Server } from './server';

const PROVIDER_KEY = 'sk-or-v1-e2e-0123456789abcdef';

let server: Server;
let token: string;

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${server.base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  expect(response.ok, `${method} ${path} answered ${response.status}`).toBe(true);
  return (await response.json()) as T;
}

async function waitForRuns(predicate: (runs: { status: string }[]) => boolean) {
  await expect
    .poll(async () => predicate((await api<{ runs: { status: string }[] }>('GET', '/api/v1/runs')).runs), { timeout: 20_000 })
    .toBe(true);
}

async function signIn(page: Page, path: string) {
  await signInAt(page, `${server.base}${path}`);
}

test.describe('History, Teams and Settings', () => {
  test.beforeAll(async () => {
    // A slower demo model, so that a run can be cancelled while it goes.
    server = await startServer({ CADRE_SCRIPTED_DELAY_MS: '150' });
    const response = await fetch(`${server.base}/api/v1/auth/session`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
    });
    token = ((await response.json()) as { access_token: string }).access_token;
  });

  test.afterAll(() => {
    server?.stop();
  });

  test('Settings: demo notice, then a provider key shows only as its mask', async ({ page }) => {
    await signIn(page, '/settings');
    await expect(page.getByRole('heading', { name: 'Settings', level: 1 })).toBeVisible();
    const models = page.getByRole('region', { name: 'Models' });
    await expect(models).toContainText('No LLM provider is configured for you or this server. Runs can use the offline demo model');
    await expect(models.getByRole('link', { name: 'New run' })).toHaveAttribute('href', '/runs/new');
    // The server's real sandbox, with its limits.
    const sandbox = page.getByRole('region', { name: 'Code sandbox' });
    await expect(sandbox).toContainText('Code written by agents runs in a bubblewrap sandbox, one per execution, with:');
    await expect(sandbox.getByRole('listitem').filter({ hasText: /^seccomp: / })).toHaveCount(1);

    const card = page.getByRole('region', { name: 'OpenRouter' });
    const keyField = card.getByLabel('API key');
    await expect(keyField).toHaveAttribute('type', 'password');
    await keyField.fill(PROVIDER_KEY);
    await card.getByRole('button', { name: 'Save key' }).click();

    await expect(card.locator('code.mask')).toHaveText('…cdef');
    await expect(card.getByLabel('Replace API key')).toHaveValue('');
    expect(await page.content()).not.toContain(PROVIDER_KEY);
    // Runs now use the user's OpenRouter key (the live model list may fail offline: that
    // shows as provider_error, which is fine here).
    await expect(models).toContainText('Your key');

    // After a reload the page still knows only the mask.
    await page.reload();
    await expect(page.getByRole('region', { name: 'OpenRouter' }).locator('code.mask')).toHaveText('…cdef');
    expect(await page.content()).not.toContain(PROVIDER_KEY);
    await shoot(page, 'settings');

    // Dark mode through the header's theme switch.
    await page.getByTitle('Dark', { exact: true }).click();
    await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
    await shoot(page, 'settings-dark');
    await page.getByTitle('Light', { exact: true }).click();

    await page.setViewportSize({ width: 390, height: 844 });
    await expectNoSidewaysScroll(page);
    await shoot(page, 'settings-phone');

    // Tidy up so that the later tests' runs use the demo model only.
    await card.getByRole('button', { name: 'Remove key' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove key' }).click();
    await expect(card).toContainText('No key stored.');
  });

  test('History lists runs made through the API and filters by status', async ({ page }) => {
    const cancelled = await api<{ id: string }>('POST', '/api/v1/runs', { task: 'Compare Fibonacci numbers with primes', model: 'demo' });
    await api('POST', `/api/v1/runs/${cancelled.id}/cancel`);
    await api('POST', '/api/v1/runs', { task: 'Plan a team offsite (build only)', model: 'demo', execute: false });
    await waitForRuns((runs) => runs.length === 2 && runs.every((run) => ['completed', 'failed', 'cancelled'].includes(run.status)));
    const { runs } = await api<{ runs: { task: string; status: string }[] }>('GET', '/api/v1/runs');
    expect(runs.map((run) => run.status).sort()).toEqual(['cancelled', 'completed']);

    await signIn(page, '/history');
    const table = page.getByRole('table', { name: /your runs/i });
    await expect(table.getByRole('link', { name: 'Compare Fibonacci numbers with primes' })).toBeVisible();
    await expect(table.getByRole('link', { name: 'Plan a team offsite (build only)' })).toBeVisible();
    await shoot(page, 'history');

    // Filter by each status; then by one that no run has.
    for (const status of ['cancelled', 'completed']) {
      await page.getByRole('combobox', { name: 'Status' }).selectOption(status);
      await expect(page).toHaveURL(new RegExp(`/history\\?status=${status}$`));
      for (const run of runs) {
        const link = page.getByRole('link', { name: run.task });
        if (run.status === status) await expect(link).toBeVisible();
        else await expect(link).toHaveCount(0);
      }
    }
    await page.getByRole('combobox', { name: 'Status' }).selectOption('waiting_input');
    await expect(page.getByText('No waiting for input runs.')).toBeVisible();
    await page.getByRole('combobox', { name: 'Status' }).selectOption('');
    await expect(page.getByRole('link', { name: 'Compare Fibonacci numbers with primes' })).toBeVisible();

    await page.setViewportSize({ width: 390, height: 844 });
    await expectNoSidewaysScroll(page);
    await shoot(page, 'history-phone');

    // The run link opens the run page.
    await page.getByRole('link', { name: 'Compare Fibonacci numbers with primes' }).click();
    await expect(page).toHaveURL(/\/runs\/[0-9a-f-]{36}$/);
  });

  test('Teams: import AutoGen JSON, edit, persist, export', async ({ page }) => {
    const autogen = {
      building_task: 'Plot the stock prices of two companies.',
      agent_configs: [
        { name: 'Analyst', model: 'gpt-4o', system_message: 'You analyse data.', description: 'Analyses data.', tags: ['finance'] },
        { name: 'Coder', model: 'gpt-4o', system_message: 'You write Python.', description: 'Writes code.' },
      ],
      coding: true,
      default_llm_config: { temperature: 0.5 },
      code_execution_config: { last_n_messages: 2, work_dir: 'groupchat', use_docker: false, timeout: 60 },
    };

    await signIn(page, '/teams');
    await expect(page.getByRole('heading', { name: 'Teams', level: 1 })).toBeVisible();

    // A file the server refuses: its message is shown.
    await page.getByRole('textbox', { name: /JSON to import/ }).fill('{"agent_configs": []}');
    await page.getByRole('button', { name: 'Import team' }).click();
    await expect(page.getByRole('alert')).toContainText('a team needs at least one agent');

    // The real file, through the file input.
    await page.getByLabel('File').setInputFiles({ name: 'builder.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(autogen)) });
    await expect(page.getByText('Loaded builder.json into the box below.')).toBeVisible();
    await page.getByRole('button', { name: 'Import team' }).click();
    await expect(page).toHaveURL(/\/teams\/[0-9a-f-]{36}$/);
    const teamUrl = page.url();
    await expect(page.getByRole('link', { name: 'Run this team' })).toHaveAttribute('href', /\/runs\/new\?team=[0-9a-f-]{36}$/);

    // Edit the coder's description in the form and save.
    const coder = page.getByRole('group', { name: /Agent 2: Coder/ });
    await coder.getByRole('textbox', { name: /Description/ }).fill('Writes and runs the plotting code.');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();
    await shoot(page, 'team');

    // The JSON tab refuses an invalid team.
    await page.getByRole('tab', { name: 'JSON' }).click();
    const editor = page.getByRole('textbox', { name: /Team JSON/ });
    const saved = await editor.inputValue();
    await editor.fill(saved.replace('"Analyst"', '"Data analyst"'));
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByRole('alert')).toContainText('agents[0].name: use 1 to 64 letters');
    await page.getByRole('button', { name: 'Discard changes' }).click();

    // Reload: the edit persisted.
    await page.reload();
    await expect(page.getByRole('group', { name: /Agent 2: Coder/ }).getByRole('textbox', { name: /Description/ })).toHaveValue(
      'Writes and runs the plotting code.',
    );

    // Export downloads an AutoGen file with the edit and the kept extras.
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export AutoGen JSON' }).click();
    const download = await downloading;
    expect(download.suggestedFilename()).toMatch(/^team-[0-9a-f-]{36}\.json$/);
    const exported = JSON.parse(readFileSync(await download.path(), 'utf8')) as typeof autogen;
    expect(exported.agent_configs.map((agent) => agent.description)).toEqual(['Analyses data.', 'Writes and runs the plotting code.']);
    expect(exported.agent_configs[0]?.tags).toEqual(['finance']);
    expect(exported.coding).toBe(true);

    await page.goto(`${server.base}/teams`);
    await expect(page.getByRole('link', { name: 'Plot the stock prices of two' })).toBeVisible();
    await shoot(page, 'teams');

    // The smallest phones we support: 360 px, no sideways scrolling.
    await page.setViewportSize({ width: 360, height: 740 });
    await expectNoSidewaysScroll(page);
    await page.goto(teamUrl);
    await expect(page.getByRole('group', { name: /Agent 1: Analyst/ })).toBeVisible();
    await expectNoSidewaysScroll(page);
    await shoot(page, 'team-phone');
  });
});

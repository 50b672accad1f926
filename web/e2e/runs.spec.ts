// The runs feature end to end, against the real `cadre serve` (demo model, real bubblewrap
// sandbox) in Chromium: start a run and watch it stream to the end (with the files its
// code wrote), reload mid-run and resume without duplicates, cancel, and build-only →
// edit → save → run the saved team.
import { readFile } from 'node:fs/promises';
import { expect, test, type Page } from '@playwright/test';
import { shoot, signInAt } from './pages-helpers';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startServer, type Server } from './server';

const TASK = 'Compare the first 20 Fibonacci numbers with the first 20 primes';

let server: Server;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  // 600 ms an answer (a demo run takes ~8 s): long enough that the checks made while a
  // run is still going (the "Executing" step, cancelling mid-way) do not race its end on
  // a loaded machine.
  server = await startServer({ CADRE_SCRIPTED_DELAY_MS: '600' });
});

test.afterAll(() => {
  server?.stop();
});

async function signIn(page: Page) {
  await signInAt(page, `${server.base}/login`);
  await expect(page.getByRole('heading', { name: 'New run', level: 1 })).toBeVisible();
}

async function startRun(page: Page, task: string, options: { buildOnly?: boolean } = {}) {
  await page.goto(`${server.base}/runs/new`);
  await page.getByRole('textbox', { name: /^Task/ }).fill(task);
  await expect(page.getByRole('combobox', { name: 'Model' })).toHaveValue('demo');
  if (options.buildOnly) await page.getByRole('checkbox', { name: /Build only/ }).check();
  await page.getByRole('button', { name: options.buildOnly ? 'Build team' : 'Start run' }).click();
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
  return page.url().split('/').pop()!;
}

/** Calls the API with the page's own session (the access token lives in page memory, so
 *  sign in again from the test for a bearer token). */
async function apiToken(page: Page): Promise<string> {
  const response = await page.request.post(`${server.base}/api/v1/auth/session`, {
    data: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
  });
  expect(response.ok()).toBeTruthy();
  return ((await response.json()) as { access_token: string }).access_token;
}

const status = (page: Page) => page.locator('.page-header').locator('.status-badge');

test('a demo run streams live to Completed with its team and a real code result', async ({ page }) => {
  await signIn(page);
  await expect(page.getByRole('note', { name: 'No LLM provider' })).toContainText('No LLM provider is configured');
  await page.getByRole('textbox', { name: /^Task/ }).fill(TASK);
  await shoot(page, 'new-run');
  // Tokens stream in: some agent message must show while still being written. Each
  // answer streams for ~300 ms here, too briefly to poll for, so a DOM observer (the app
  // navigates client-side, so it lives on) records whether one ever appears.
  await page.evaluate(`(() => {
    const seen = () => document.querySelector('article.message[aria-busy="true"] .typing-cursor');
    new MutationObserver(() => { if (seen()) window.sawStreaming = true; })
      .observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  })()`);
  await page.getByRole('button', { name: 'Start run' }).click();
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);

  await expect(page.getByRole('heading', { level: 1 })).toContainText('Compare the first 20 Fibonacci');
  await expect(page.getByRole('status').filter({ hasText: /^Live/ })).toBeVisible();
  // Team cards while the run is executing.
  const agents = page.getByRole('list', { name: 'Agents' }).getByRole('listitem');
  await expect(agents.nth(2)).toBeVisible({ timeout: 20_000 });
  expect(await agents.count()).toBeGreaterThanOrEqual(3);
  await expect(page.locator('.stepper [aria-current="step"]')).toContainText(/Executing/);
  await expect(page.locator('article.message').first()).toBeVisible();
  await shoot(page, 'run-running');

  // The system message toggle.
  const toggle = agents.first().getByRole('button', { name: 'Show system message' });
  await toggle.click();
  await expect(agents.first().getByRole('button', { name: 'Hide system message' })).toHaveAttribute('aria-expanded', 'true');

  await expect(status(page)).toHaveText('Completed', { timeout: 45_000 });
  expect(await page.evaluate('window.sawStreaming === true')).toBe(true);
  await expect(page.locator('.stepper [aria-current="step"]')).toContainText('Completed');
  const result = page.getByRole('region', { name: 'Code result' }).first();
  await expect(result).toContainText('exit code 0');
  await expect(result.locator('.code-result__stdout')).toContainText('First 20 Fibonacci numbers');
  // The files the code wrote: listed with their sizes, the chart shown inline (fetched
  // with the token, through the page's CSP), the table downloadable byte for byte.
  const files = result.getByRole('list', { name: 'Files written' });
  await expect(files).toContainText('fib_vs_primes.csv');
  const chart = files.getByRole('img', { name: 'fib_vs_primes.png' });
  await expect(chart).toBeVisible();
  // The e2e tsconfig has no DOM types: the image is read structurally.
  const loadedWidth = (img: unknown) => {
    const { complete, naturalWidth } = img as { complete: boolean; naturalWidth: number };
    return complete ? naturalWidth : 0;
  };
  await expect.poll(() => chart.evaluate(loadedWidth)).toBe(400);
  const table = page.waitForEvent('download');
  await files.getByRole('button', { name: 'Download fib_vs_primes.csv' }).click();
  const saved = await table;
  expect(saved.suggestedFilename()).toBe('fib_vs_primes.csv');
  const csv = await readFile(await saved.path(), 'utf8');
  expect(csv.split('\n').slice(0, 3)).toEqual(['position,fibonacci,prime', '1,0,2', '2,1,3']);
  await expect(page.getByRole('region', { name: 'Summary' })).toContainText('complete');
  await expect(page.locator('.transcript__speaker').filter({ hasText: 'Computer_terminal' }).first()).toContainText('code to execute');
  await expect(page.getByRole('button', { name: 'Cancel run' })).toHaveCount(0);

  // Download as Markdown.
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download Markdown' }).click();
  expect((await download).suggestedFilename()).toMatch(/^run-.*\.md$/);
  await shoot(page, 'run-completed');

  // Responsive: nothing overflows sideways on a 360 px phone, in the dark theme too.
  await page.setViewportSize({ width: 360, height: 780 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await expect(page.getByRole('region', { name: 'Summary' })).toBeVisible();
  expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
  await shoot(page, 'run-completed-360-dark');
});

test('reloading mid-run resumes the transcript without duplicates, in order', async ({ page }) => {
  await signIn(page);
  const runId = await startRun(page, TASK);
  await expect(page.locator('article.message').nth(1)).toBeVisible({ timeout: 20_000 });
  await expect(status(page)).toHaveText('Running');
  await page.reload();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Compare the first 20 Fibonacci');
  await expect(status(page)).toHaveText('Completed', { timeout: 45_000 });

  await expectTranscriptMatchesServer(page, runId);
});

test('a server restart mid-run: the page reconnects and the run finishes, nothing lost or repeated', async ({ page }) => {
  await signIn(page);
  const runId = await startRun(page, TASK);
  await expect(page.locator('article.message').nth(1)).toBeVisible({ timeout: 20_000 });
  const connection = page.locator('.connection');
  await expect(connection).toHaveAttribute('data-state', 'live');
  await server.restart(async () => {
    // While the server is down the page says so, and keeps trying.
    await expect(connection).toHaveAttribute('data-state', /reconnecting|offline/, { timeout: 10_000 });
    await expect(connection).toContainText(/Reconnecting|Offline/);
  });
  // The restarted server's worker resumes the run; the page resumes its stream.
  await expect(status(page)).toHaveText('Completed', { timeout: 60_000 });
  await expectTranscriptMatchesServer(page, runId);
});

/** The rendered transcript is the stored one: every message once, in order, by the right agent. */
async function expectTranscriptMatchesServer(page: Page, runId: string) {
  const articles = page.locator('article.message[data-seq]');
  const rendered: Array<{ id: string | null; seq: number }> = [];
  for (let i = 0, n = await articles.count(); i < n; i += 1) {
    const article = articles.nth(i);
    rendered.push({ id: await article.getAttribute('data-message-id'), seq: Number(await article.getAttribute('data-seq')) });
  }
  const ids = rendered.map((m) => m.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(await page.locator('article.message').count()).toBe(rendered.length); // nothing left streaming

  const token = await apiToken(page);
  const transcript = await page.request.get(`${server.base}/api/v1/runs/${runId}/transcript?format=json`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  const body = (await transcript.json()) as { messages: Array<{ seq: number; agent: string; message_id: string | null }> };
  expect(rendered.map((m) => m.seq)).toEqual(body.messages.map((m) => m.seq));
  expect(ids).toEqual(body.messages.map((m) => m.message_id));
  const agentsShown = await page.locator('article.message[data-seq] .message__agent').allTextContents();
  expect(agentsShown).toEqual(body.messages.map((m) => m.agent));
}

test('cancelling a run mid-way ends it as Cancelled', async ({ page }) => {
  await signIn(page);
  await startRun(page, TASK);
  await expect(page.locator('article.message').first()).toBeVisible({ timeout: 20_000 });
  await page.getByRole('button', { name: 'Cancel run' }).click();
  const dialog = page.getByRole('dialog', { name: 'Cancel this run?' });
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: 'Cancel run' }).click();
  await expect(status(page)).toHaveText('Cancelled', { timeout: 20_000 });
  await expect(page.locator('.stepper [aria-current="step"]')).toContainText('Cancelled');
});

test('build only → edit → save as team → run the saved team', async ({ page }) => {
  await signIn(page);
  await startRun(page, 'Compare the growth of squares and cubes', { buildOnly: true });
  const review = page.getByRole('region', { name: 'Review the team' });
  await expect(review).toBeVisible({ timeout: 20_000 });
  await expect(status(page)).toHaveText('Completed');

  const firstAgent = review.getByRole('group').first();
  const description = firstAgent.getByRole('textbox', { name: 'Description' });
  await description.fill('Edited in the e2e test: checks every number twice.');
  await review.getByRole('textbox', { name: 'Team name' }).fill('E2E reviewed team');
  await review.getByRole('button', { name: 'Save as team' }).click();
  const link = review.getByRole('link', { name: /Open team/ });
  await expect(link).toBeVisible();
  const teamId = (await link.getAttribute('href'))!.split('/').pop()!;

  // Start a run from the saved team, as the Teams page links to it.
  await page.goto(`${server.base}/runs/new?team=${teamId}`);
  await expect(page.getByRole('radio', { name: 'Use a saved team' })).toBeChecked();
  await expect(page.getByRole('combobox', { name: 'Saved team' })).toHaveValue(teamId);
  await page.getByRole('textbox', { name: /^Task/ }).fill(TASK);
  await page.getByRole('button', { name: 'Start run' }).click();
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
  await expect(status(page)).toHaveText('Completed', { timeout: 45_000 });
  await expect(page.getByRole('list', { name: 'Agents' })).toContainText('Edited in the e2e test: checks every number twice.');
});

// MCP tools end to end, against the real `cadre serve` (demo model) in Chromium, with
// CADRE_MCP_CONFIG naming a real MCP server: the notebook server written with the official
// Python SDK (crates/cadre-mcp/tests/fixtures, the SDK installed by
// scripts/ensure-mcp-sdk.sh), over stdio. The team page lists the server's tools and the
// agent's allowlist; a run of that team shows the agent's tool call with the server's
// answer, and the agent's message quotes it. A tool off the allowlist is never offered.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, test } from '@playwright/test';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from './server';
import { shoot, signInAt } from './pages-helpers';
import { startServer, type Server } from './server';

let server: Server;
let dir: string;

test.beforeAll(async () => {
  const python = execFileSync(resolve('../scripts/ensure-mcp-sdk.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  dir = mkdtempSync(join(tmpdir(), 'cadre-e2e-mcp-'));
  const config = join(dir, 'mcp.json');
  writeFileSync(
    config,
    JSON.stringify({
      mcpServers: {
        notebook: {
          command: python,
          args: [resolve('../crates/cadre-mcp/tests/fixtures/notebook_server.py'), 'stdio'],
          env: { NOTES_FILE: join(dir, 'notes.txt') },
        },
      },
    }),
  );
  server = await startServer({ CADRE_SCRIPTED_DELAY_MS: '100', CADRE_MCP_CONFIG: config });
});

test.afterAll(() => {
  server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const TEAM = {
  name: 'Note keepers',
  agents: [
    {
      name: 'Scribe',
      system_message: 'You keep the notebook.',
      description: 'Writes down what matters',
      tools: ['notebook.remember'],
    },
    { name: 'Reviewer', system_message: 'You review.', description: 'Checks the notes' },
  ],
  speaker_selection: { method: 'round_robin' },
  termination: { max_round: 3 },
  default_model: 'demo',
};

test('an agent calls an MCP tool, and the call, its answer and the reply show in the run', async ({ page, request }) => {
  const token = await request.post(`${server.base}/api/v1/auth/token`, {
    form: { grant_type: 'password', username: ADMIN_EMAIL, password: ADMIN_PASSWORD },
  });
  expect(token.status()).toBe(200);
  const { access_token: accessToken } = (await token.json()) as { access_token: string };
  const created = await request.post(`${server.base}/api/v1/teams`, {
    headers: { Authorization: `Bearer ${accessToken}` },
    data: TEAM,
  });
  expect(created.status()).toBe(201);
  const { id: teamId } = (await created.json()) as { id: string };

  // The team page: the server's tools, and the Scribe's allowlist.
  await signInAt(page, `${server.base}/teams/${teamId}`);
  const catalog = page.locator('.tools-catalog');
  await expect(catalog).toContainText('notebook.remember');
  await expect(catalog).toContainText('notebook.wipe_notes');
  await expect(page.getByRole('combobox', { name: /Tools/ }).first()).toHaveValue('notebook.remember');
  await shoot(page, 'team-tools');

  // A run of the team, with the demo model.
  await page.goto(`${server.base}/runs/new?team=${teamId}`);
  await page.getByRole('textbox', { name: /^Task/ }).fill('Remember that the e2e test ran');
  await page.getByRole('button', { name: 'Start run' }).click();
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
  await expect(page.locator('.page-header').locator('.status-badge')).toHaveText('Completed', { timeout: 45_000 });

  const call = page.locator('article.tool-call');
  await expect(call).toHaveCount(1);
  await expect(call.getByRole('heading')).toHaveText('Scribe called notebook.remember');
  await expect(call.locator('.tool-call__status')).toContainText(/answered in \d+ ms/);
  await expect(call.locator('.tool-call__result')).toHaveText('noted: Remember that the e2e test ran');
  await expect(page.locator('article.message').filter({ hasText: 'The tool answered: noted: Remember that the e2e test ran' })).toHaveCount(1);
  await call.scrollIntoViewIfNeeded();
  await shoot(page, 'run-tool-call');

  // The server really ran it; the tool the Scribe may not call never ran.
  expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('Remember that the e2e test ran\n');
  expect(() => readFileSync(join(dir, 'WIPED'))).toThrow();
});

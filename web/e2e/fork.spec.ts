// Forking a run end to end, against the real `cadre serve` (demo model, real sandbox) in
// Chromium: a demo run completes; "Edit & rerun" on a message in the middle of it (the
// reviewer's, after the code ran) forks it with new text; the new run's page names its
// parent, shows the parent's earlier messages copied, the edited message, and the team
// carrying on from it to the end.
import { expect, test, type Page } from '@playwright/test';
import { shoot, signInAt } from './pages-helpers';
import { startServer, type Server } from './server';

const TASK = 'Compare the first 20 Fibonacci numbers with the first 20 primes';
const EDITED = 'EDITED in the e2e test: the output is checked, nothing more to review.';

let server: Server;

test.beforeAll(async () => {
  // Quick answers: nothing here watches a run mid-way.
  server = await startServer({ CADRE_SCRIPTED_DELAY_MS: '200' });
});

test.afterAll(() => {
  server?.stop();
});

const status = (page: Page) => page.locator('.page-header').locator('.status-badge');

/** Every final message of the transcript: its agent, seq and text. */
async function messages(page: Page): Promise<Array<{ agent: string; seq: number; text: string }>> {
  const articles = page.locator('article.message[data-seq]');
  const out = [];
  for (let i = 0, n = await articles.count(); i < n; i += 1) {
    const article = articles.nth(i);
    out.push({
      agent: (await article.locator('.message__agent').textContent()) ?? '',
      seq: Number(await article.getAttribute('data-seq')),
      text: (await article.locator('.message__body').innerText()).trim(),
    });
  }
  return out;
}

function runIdOf(page: Page): string {
  return new URL(page.url()).pathname.split('/').pop()!;
}

test('fork a finished run from a middle message with edited text, and watch the fork finish', async ({ page }) => {
  await signInAt(page, `${server.base}/runs/new`);
  await expect(page.getByRole('heading', { name: 'New run', level: 1 })).toBeVisible();
  await page.getByRole('textbox', { name: /^Task/ }).fill(TASK);
  await page.getByRole('button', { name: 'Start run' }).click();
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
  const parentId = runIdOf(page);
  await expect(status(page)).toHaveText('Completed', { timeout: 45_000 });

  // The demo conversation: task, plan, program, its output, the review, the conclusion.
  const parent = await messages(page);
  const reviewIndex = parent.findIndex((message) => message.text.startsWith('I checked the run.'));
  expect(reviewIndex).toBeGreaterThan(2);
  expect(reviewIndex).toBeLessThan(parent.length - 1);
  const review = parent[reviewIndex];

  // Edit & rerun the review: an inline editor, prefilled and focused.
  const article = page.locator(`article.message[data-seq="${review.seq}"]`);
  await article.getByRole('button', { name: 'Edit & rerun' }).click();
  const box = article.getByRole('textbox', { name: 'New message' });
  await expect(box).toBeFocused();
  await expect(box).toHaveValue(/^I checked the run\./);
  await box.fill(EDITED);
  await shoot(page, 'run-fork-editor');
  await article.getByRole('button', { name: 'Rerun from here' }).click();

  // The fork's own page.
  await page.waitForURL((url) => /\/runs\/[0-9a-f-]{36}$/.test(url.pathname) && !url.pathname.endsWith(parentId));
  const lineage = page.locator('.run-lineage');
  await expect(lineage).toContainText(`Forked from run ${parentId.slice(0, 8)} after event #${review.seq} · message edited`);
  await expect(lineage.getByRole('link')).toHaveAttribute('href', `/runs/${parentId}`);
  // The fork's note, as a log line of its transcript.
  await expect(page.locator('.transcript__log').filter({ hasText: `Forked from run ${parentId} after event ${review.seq}` })).toContainText(
    `with ${review.agent}'s message edited`,
  );

  await expect(status(page)).toHaveText('Completed', { timeout: 45_000 });
  const fork = await messages(page);
  // The earlier messages, copied as they were, in order.
  expect(fork.slice(0, reviewIndex).map(({ agent, text }) => ({ agent, text }))).toEqual(
    parent.slice(0, reviewIndex).map(({ agent, text }) => ({ agent, text })),
  );
  // The copied program's result is shown, its chart fetched from the parent run.
  const result = page.getByRole('region', { name: 'Code result' }).first();
  await expect(result).toContainText('exit code 0');
  await expect(result.getByRole('img', { name: 'fib_vs_primes.png' })).toBeVisible();
  // The edited message, by the same agent; then the team carried on to a new ending.
  expect(fork[reviewIndex]).toMatchObject({ agent: review.agent, text: EDITED });
  expect(fork.length).toBeGreaterThan(reviewIndex + 1);
  expect(fork[fork.length - 1].text).toContain('TERMINATE');
  await expect(page.getByRole('region', { name: 'Summary' })).toContainText('complete');
  await shoot(page, 'run-fork');

  // The link goes back to the parent, unchanged.
  await lineage.getByRole('link').click();
  await expect(page).toHaveURL(new RegExp(`/runs/${parentId}$`));
  await expect(page.locator(`article.message[data-seq="${review.seq}"] .message__body`)).toContainText('I checked the run.');
});

// Swagger UI, served by `cadre serve` at /docs under its Content Security Policy, logs in
// with the OAuth2 password flow and calls GET /api/v1/me as the user did in a browser.
import { expect, test } from '@playwright/test';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startServer, type Server } from './server';

let server: Server;

test.beforeAll(async () => {
  server = await startServer();
});

test.afterAll(() => {
  server?.stop();
});

test('Swagger UI authorizes with the password flow and calls /api/v1/me', async ({ page }) => {
  const blocked: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') blocked.push(message.text());
  });
  await page.goto(`${server.base}/docs/`);
  await expect(page.locator('.information-container .title')).toContainText('Cadre API');

  // Without a token, /me answers 401.
  const me = page.locator('#operations-auth-me');
  await me.locator('.opblock-summary').click();
  await me.getByRole('button', { name: 'Try it out' }).click();
  await me.getByRole('button', { name: 'Execute' }).click();
  await expect(me.locator('.live-responses-table tbody .response-col_status').first()).toHaveText('401');

  // Authorize: the password flow form posts to /api/v1/auth/token.
  await page.locator('.auth-wrapper .authorize').first().click();
  const dialog = page.locator('.modal-ux');
  await dialog.locator('#oauth_username').fill(ADMIN_EMAIL);
  await dialog.locator('#oauth_password').fill(ADMIN_PASSWORD);
  await dialog.locator('.auth-btn-wrapper button.authorize').click();
  await expect(dialog.locator('.auth-btn-wrapper button', { hasText: 'Logout' })).toBeVisible();
  await dialog.locator('.auth-btn-wrapper button.btn-done').click();

  await me.getByRole('button', { name: 'Execute' }).click();
  await expect(me.locator('.live-responses-table tbody .response-col_status').first()).toHaveText('200');
  await expect(me.locator('.live-responses-table tbody .response-col_description')).toContainText(ADMIN_EMAIL);
  await page.screenshot({ path: 'test-results/swagger-authorized.png', fullPage: true });
  expect(blocked.filter((text) => text.includes('Content Security Policy'))).toEqual([]);
});

// What several browser specs do: sign in through the login form, keep a full-page
// screenshot as an artifact, check a page never scrolls sideways.
import { expect, type Page } from '@playwright/test';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from './server';

/** Where screenshots of the main pages are kept (test-results is the artifact folder). */
export const SCREENS = 'test-results/screens';

/** Opens `url` (which redirects to the login form) and signs in as the e2e admin. */
export async function signInAt(page: Page, url: string) {
  await page.goto(url);
  await page.getByRole('textbox', { name: 'Email' }).fill(ADMIN_EMAIL);
  await page.getByLabel(/^Password/).fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** A full-page screenshot from the top (sticky bars otherwise land mid-page). */
export async function shoot(page: Page, name: string) {
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: `${SCREENS}/${name}.png`, fullPage: true });
}

/** Nothing on the page is wider than the viewport (no sideways scrolling on phones). */
export async function expectNoSidewaysScroll(page: Page) {
  const [scrollWidth, clientWidth] = await page.evaluate<[number, number]>(
    '[document.documentElement.scrollWidth, document.documentElement.clientWidth]',
  );
  expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
}

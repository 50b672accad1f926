// End-to-end tests drive the real `cadre` binary in Debian's Chromium: no browser is
// downloaded (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 at install; the executable is given here).
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: './e2e',
  timeout: 60_000,
  // One retry in CI absorbs a machine hiccup; a real failure still fails twice.
  retries: process.env.CI ? 1 : 0,
  workers: 1,
  reporter: [['list']],
  outputDir: './test-results',
  use: {
    headless: true,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox'],
    },
  },
});

// Vitest: unit and component tests beside the code (src/**/*.test.ts[x]) in jsdom.
// The Playwright tests under e2e/ are not Vitest's business.
import { fileURLToPath, URL } from 'node:url';
import { defineConfig, mergeConfig } from 'vitest/config';
import viteConfig from './vite.config.ts';

const reactRouter = (file: string) =>
  fileURLToPath(new URL(`./node_modules/react-router/dist/development/${file}`, import.meta.url));

export default mergeConfig(
  viteConfig,
  defineConfig({
    resolve: {
      // One copy of react-router: under Vitest, `react-router` otherwise resolves to the
      // CommonJS build and `react-router/dom` to the ES build, two copies whose router
      // contexts differ ("useRouteError must be used within a data router").
      alias: [
        { find: /^react-router$/, replacement: reactRouter('index.mjs') },
        { find: /^react-router\/dom$/, replacement: reactRouter('dom-export.mjs') },
      ],
    },
    test: {
      environment: 'jsdom',
      include: ['src/**/*.test.{ts,tsx}'],
      setupFiles: ['./src/testing/setup.ts'],
      restoreMocks: true,
      // As with the browser tests: in CI a test gets one retry, so a real failure must
      // fail twice, and a timing hiccup on a loaded 2-core runner does not sink the run.
      retry: process.env.CI ? 1 : 0,
      unstubGlobals: true,
      css: false,
    },
  }),
);

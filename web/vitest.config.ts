// Vitest: unit and component tests beside the code (src/**/*.test.ts[x]) in jsdom.
// The Playwright tests under e2e/ are not Vitest's business.
import { defineConfig, mergeConfig } from 'vitest/config';
import viteConfig from './vite.config';

export default mergeConfig(
  viteConfig,
  defineConfig({
    test: {
      environment: 'jsdom',
      include: ['src/**/*.test.{ts,tsx}'],
      setupFiles: ['./src/testing/setup.ts'],
      restoreMocks: true,
      unstubGlobals: true,
      css: false,
    },
  }),
);

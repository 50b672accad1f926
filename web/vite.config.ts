// Vite: builds the UI into dist/ (served by `cadre serve`) and, in development, proxies
// the API to a running server so the browser sees one origin (the refresh cookie is
// SameSite=Strict and the server's CSP allows only 'self').
import { fileURLToPath, URL } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** Where `npm run dev` sends API calls; override with CADRE_API_URL. */
const apiTarget = process.env.CADRE_API_URL ?? 'http://127.0.0.1:8080';
const proxied = { target: apiTarget, changeOrigin: false, ws: true };

export default defineConfig({
  plugins: [react()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  server: {
    proxy: {
      '/api': proxied,
      '/docs': proxied,
      '/openapi.json': proxied,
      '/healthz': proxied,
    },
  },
  preview: {
    proxy: {
      '/api': proxied,
      '/docs': proxied,
      '/openapi.json': proxied,
      '/healthz': proxied,
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // No source maps: dist/ is embedded into the release binary; debug with `npm run dev`.
    sourcemap: false,
    // Keep every script an external module: the server's CSP forbids inline scripts.
    modulePreload: { polyfill: false },
  },
});

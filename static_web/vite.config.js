import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

import { withApiOrigin } from './swa-config.js';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

const readJson = (path) => JSON.parse(readFileSync(here(path), 'utf8'));

/** Ships staticwebapp.config.json beside the build, where Static Web Apps reads it, made from
 * staticwebapp.template.json with the deployed API's origin (public/config.json) in its
 * Content-Security-Policy. The source has another name so that the folder the SWA CLI deploys
 * holds one config only: with two it keeps whichever it finds last. */
function staticWebAppConfig() {
  return {
    name: 'static-web-app-config',
    generateBundle() {
      const { apiBaseUrl } = readJson('./public/config.json');
      const config = withApiOrigin(readJson('./staticwebapp.template.json'), apiBaseUrl);
      this.emitFile({
        type: 'asset',
        fileName: 'staticwebapp.config.json',
        source: `${JSON.stringify(config, null, 2)}\n`,
      });
    },
  };
}

export default defineConfig({
  plugins: [staticWebAppConfig()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: {
        // The element, under a name that never changes: site owners point a script tag at it.
        'chat-widget': here('./src/chat-widget.js'),
        main: here('./index.html'),
        notFound: here('./404.html'),
      },
      output: {
        entryFileNames: (chunk) => (chunk.name === 'chat-widget' ? 'chat-widget.js' : 'assets/[name]-[hash].js'),
      },
    },
  },
  server: {
    proxy: {
      // `npm run dev` talks to the API that `make run` serves.
      '/api': process.env.CHAT_API_URL || 'http://127.0.0.1:7071',
    },
  },
});

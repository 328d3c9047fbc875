import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

/** Ships staticwebapp.config.json beside the build, where Static Web Apps reads it. */
function staticWebAppConfig() {
  return {
    name: 'static-web-app-config',
    generateBundle() {
      this.emitFile({
        type: 'asset',
        fileName: 'staticwebapp.config.json',
        source: readFileSync(here('./staticwebapp.config.json'), 'utf8'),
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
    rollupOptions: {
      input: {
        main: here('./index.html'),
        notFound: here('./404.html'),
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

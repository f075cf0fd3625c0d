import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { precompress } from './precompress.js';

// Static files in dist/, served by the Tally server at `/` (hashed assets under /assets/, each with
// a .gz and a .br beside it).
export default defineConfig({
  plugins: [react(), precompress({ dir: 'assets' })],
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  server: {
    // `npm run dev -w @tally/dashboard` against a local `tally serve` on the default port.
    proxy: { '/v1': 'http://127.0.0.1:8787', '/ui/api': 'http://127.0.0.1:8787' },
  },
});

import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Static files in dist/, served by the Tally server at `/` (hashed assets under /assets/).
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1500 },
  server: {
    // `npm run dev -w @tally/dashboard` against a local `tally serve` on the default port.
    proxy: { '/v1': 'http://127.0.0.1:8787', '/ui/api': 'http://127.0.0.1:8787' },
  },
});

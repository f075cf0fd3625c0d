// `npm pack` of @tally/server: `prepack` copies the built dashboard into the package (./dashboard,
// served from there once installed: src/routes/ui/dashboard.ts), `postpack` removes the copy.
import { cpSync, existsSync, rmSync } from 'node:fs';

const built = new URL('../../dashboard/dist/', import.meta.url);
const inPackage = new URL('../dashboard/', import.meta.url);

rmSync(inPackage, { recursive: true, force: true });
if (process.argv[2] === 'copy') {
  if (!existsSync(new URL('index.html', built))) {
    console.error('pack-dashboard: packages/dashboard/dist is not built: run npm run build -w @tally/dashboard first');
    process.exit(1);
  }
  cpSync(built, inPackage, { recursive: true });
}

// Part of `npm run build`: writes the settings' flags table that `tally --help` reads (src/cli-flags.ts).
import { writeFileSync } from 'node:fs';

const { settingFlags } = await import('../dist/cli-settings.js');
writeFileSync(new URL('../dist/setting-flags.json', import.meta.url), `${JSON.stringify(settingFlags(), null, 1)}\n`);

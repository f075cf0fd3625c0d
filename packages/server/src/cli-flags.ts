/**
 * The settings' flags for commands to declare, without loading what checks their values. Building
 * the CLI's commands is all `tally --help` does, so it must not load the settings' schemas
 * (TypeBox: hundreds of modules, most of the time `--help` took). The build writes the flags' table
 * (cli-settings.ts `settingFlags`) to dist/setting-flags.json beside this module; run from the
 * sources, where that file is absent, or after a bare `tsc` left it older than config.js, the
 * table is computed. test/cli-startup.test.ts checks that
 * the built table equals the computed one.
 */
import { readFileSync, statSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { SettingFlag } from './cli-settings.js';
import type { SettingName } from './config.js';

const TABLE_FILE = new URL('./setting-flags.json', import.meta.url);
const SETTINGS_FILE = new URL(`./config${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/** The built table, unless it is missing or older than the settings it was made from (a bare `tsc`). */
function builtTable(): SettingFlag[] | null {
  try {
    if (statSync(TABLE_FILE).mtimeMs < statSync(SETTINGS_FILE).mtimeMs) return null;
    return JSON.parse(readFileSync(TABLE_FILE, 'utf8')) as SettingFlag[];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function loadTable(): Promise<SettingFlag[]> {
  const built = builtTable();
  if (built !== null) return built;
  const { settingFlags } = await import('./cli-settings.js');
  return settingFlags();
}

const TABLE = await loadTable();

/** Adds the flags of the named settings (all by default) to a command; their values are checked when it runs. */
export function addSettingFlags(cmd: Command, names?: readonly SettingName[]): Command {
  for (const s of TABLE) if (names === undefined || names.includes(s.name)) cmd.addOption(new Option(s.flags, s.description));
  return cmd;
}

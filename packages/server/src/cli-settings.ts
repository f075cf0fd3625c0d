import { Option, type Command } from 'commander';
import { loadConfig, SETTINGS, shownDefault, type Config, type SettingName } from './config.js';

/** A setting's flag as commander takes it; its help names the variable and the default. */
export function settingOption(name: SettingName): Option {
  const s = SETTINGS[name];
  const shown = shownDefault(name);
  return new Option(`${s.flag} <${s.arg}>`, `${s.description.replaceAll('`', '')} (env ${s.env}${shown === null ? '' : `, default ${shown}`})`);
}

const NAMES = Object.keys(SETTINGS) as SettingName[];
// Commander names a parsed option after its flag (`--data` gives `data`), not after the setting.
const OPTION_KEYS = NAMES.map((name) => [name, settingOption(name).attributeName()] as const);

/** Adds a flag for every setting (what `tally serve` takes); no defaults, so variables still apply. */
export function addSettingOptions(cmd: Command, names: readonly SettingName[] = NAMES): Command {
  for (const name of names) cmd.addOption(settingOption(name));
  return cmd;
}

/** A setting's flag as `--help` shows it. */
export interface SettingFlag {
  name: SettingName;
  /** commander's flags text, e.g. `--port <port>`. */
  flags: string;
  description: string;
}

/**
 * Every setting's flag and help text. The build writes this table to dist/setting-flags.json, so
 * that the CLI can list the flags in `--help` without loading the settings' schemas (cli-flags.ts).
 */
export function settingFlags(): SettingFlag[] {
  return NAMES.map((name) => {
    const o = settingOption(name);
    return { name, flags: o.flags, description: o.description ?? '' };
  });
}

/** Resolves the configuration from a command's parsed flags, then the environment, then defaults. */
export function configFromOptions(opts: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Config {
  const flags: Partial<Record<SettingName, unknown>> = {};
  for (const [name, key] of OPTION_KEYS) if (opts[key] !== undefined) flags[name] = opts[key];
  return loadConfig(flags, env);
}

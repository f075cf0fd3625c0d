import { Option, type Command } from 'commander';
import { inviteToWorkspace, setupUrl } from '../auth/invites.js';
import { createSetupToken } from '../auth/sessions.js';
import type { Config } from '../config.js';
import { TallyError } from '../domain/errors.js';
import type { Store } from '../store/store.js';
import type { Workspace } from '../store/types.js';

interface StoreFlags {
  data?: string;
  databaseUrl?: string;
}

/** What cli.ts lends this module: its store options and its open-run-close helper. */
export interface CliStoreHelpers {
  withStoreOptions(cmd: Command, more?: readonly 'publicUrl'[]): Command;
  withStore<T>(flags: StoreFlags, fn: (store: Store, config: Config) => Promise<T>): Promise<T>;
}

/** Where people reach the dashboard: `--public-url`, else `http://HOST:PORT` from the settings `tally serve` uses. */
export function publicBase(config: Config): string {
  if (config.publicUrl !== undefined) return config.publicUrl;
  const { host, port } = config;
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}

export { setupUrl };

/**
 * At start, while nobody has an account, a one-time link that creates the owner of workspace
 * `default` (or the first workspace). A new link each start until one is used; null once someone
 * has signed up.
 */
export async function ownerSetupToken(store: Store): Promise<string | null> {
  if ((await store.accounts.countUsers()) > 0) return null;
  const ws = (await store.workspaces.find('default')) ?? (await store.workspaces.list())[0];
  if (!ws) return null;
  return createSetupToken(store.accounts, { purpose: 'owner', workspaceId: ws.id });
}

/**
 * Adds a person to a workspace. A new email gets an account without a password and a one-time link
 * to choose one; an existing account just gains the workspace (it appears in their switcher).
 */
export async function inviteUser(store: Store, ws: Workspace, rawEmail: string): Promise<{ userId: number; token: string | null }> {
  const email = rawEmail.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 254) throw new TallyError('invalid_field', '--email: must be an email address');
  const { userId, token } = await inviteToWorkspace(store.accounts, ws.id, email, 'member');
  return { userId, token };
}

/** `tally users create` and `tally users list`. */
export function addUserCommands(program: Command, { withStoreOptions, withStore }: CliStoreHelpers): void {
  const users = program.command('users').description('dashboard accounts: invite people to a workspace');
  withStoreOptions(
    users
      .command('create')
      .description('add a person to a workspace; prints a one-time link to set their password, alone on the last line')
      .option('--workspace <name>', 'workspace to add them to', 'default')
      .requiredOption('--email <email>', 'their email, used to sign in')
      // The name this flag had before --public-url, kept for scripts that pass it.
      .addOption(new Option('--base-url <url>').hideHelp()),
    ['publicUrl'],
  ).action((opts: StoreFlags & { workspace: string; email: string; baseUrl?: string }) =>
    withStore(opts, async (store, config) => {
      const ws = await store.workspaces.find(opts.workspace);
      if (!ws) throw new TallyError('not_found', `--workspace: no workspace named "${opts.workspace}"`);
      const { userId, token } = await inviteUser(store, ws, opts.email);
      if (token === null) {
        console.log(`user ${userId} already has an account; added to workspace ${ws.name} (they sign in as before)`);
        return;
      }
      console.log(`created user ${userId} in workspace ${ws.name}; send them this one-time link to set a password (valid 7 days):`);
      console.log(setupUrl(opts.baseUrl ?? publicBase(config), token));
    }),
  );
  withStoreOptions(users.command('list').description('list the people of a workspace').option('--workspace <name>', 'workspace', 'default')).action(
    (opts: StoreFlags & { workspace: string }) =>
      withStore(opts, async (store) => {
        const ws = await store.workspaces.find(opts.workspace);
        if (!ws) throw new TallyError('not_found', `--workspace: no workspace named "${opts.workspace}"`);
        console.log('id\temail\trole\tpassword set');
        for (const m of await store.accounts.workspaceMembers(ws.id)) console.log(`${m.userId}\t${m.email}\t${m.role}\t${m.hasPassword ? 'yes' : 'no'}`);
      }),
  );
}

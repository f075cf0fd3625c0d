import type { Accounts, Role } from '../store/accounts.js';
import { createSetupToken } from './sessions.js';

export interface Invite {
  userId: number;
  /** The one-time setup link's token; null when the account already has a password (they sign in as before). */
  token: string | null;
}

/**
 * Adds a person to a workspace (the CLI's `users create` and the members page). A new email gets
 * an account without a password and a one-time link to choose one; so does an account whose link
 * went unused. An account with a password just gains the workspace (it appears in their switcher).
 * Someone already a member keeps their role.
 * The email must already be normalised (trimmed, lower case) and checked.
 */
export async function inviteToWorkspace(accounts: Accounts, workspaceId: number, email: string, role: Role): Promise<Invite> {
  const existing = await accounts.findUserByEmail(email);
  const user = existing ?? (await accounts.createUser(email, null));
  await accounts.addMembership(user.id, workspaceId, role);
  if (user.passwordHash !== null) return { userId: user.id, token: null };
  const token = await createSetupToken(accounts, { purpose: 'invite', workspaceId, userId: user.id, email });
  return { userId: user.id, token };
}

/** The link a person opens to set their password: under the dashboard's public address. */
export const setupUrl = (base: string, token: string) => `${base.replace(/\/+$/, '')}/setup/${token}`;

/**
 * The members page in a real browser: an owner invites someone (the one-time setup link shown
 * once), changes their role, and removes them after a confirm; the last owner cannot step down.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { EMAIL, startHarness, type Harness } from './helpers/browser.js';

// axe-core, run inside the page by evaluation (the page's CSP would refuse it as a script tag).
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

describe('members page', { timeout: 90_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness('members');
  });
  after(async () => h?.close());

  const roles = async () => {
    const ws = (await h.store.workspaces.find('default'))!;
    return Object.fromEntries((await h.store.accounts.workspaceMembers(ws.id)).map((m) => [m.email, m.role]));
  };

  it('invites a member, changes the role and removes them, by keyboard', async () => {
    const { page, base } = h;
    await page.goto(`${base}/requests`);
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByText('Settings').focus();
    await page.keyboard.press('Enter');
    await nav.getByRole('link', { name: 'Members' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Members' }).waitFor();
    const table = page.locator('table.members');
    await table.getByText(EMAIL).waitFor();

    const form = page.getByRole('form', { name: 'Invite someone' });
    await form.getByLabel('Email').fill('Ana@Example.com');
    await form.getByLabel('Role').selectOption('member');
    await form.getByLabel('Email').press('Enter');
    const link = page.getByRole('textbox', { name: 'Setup link for ana@example.com' });
    await link.waitFor();
    assert.match(await link.inputValue(), new RegExp(`^${base}/setup/[0-9a-f]{64}$`), 'a one-time link under the address in use');
    await page.getByRole('button', { name: /^Copy/ }).click();
    const row = table.getByRole('row', { name: /ana@example\.com/ });
    await row.getByText('not yet (invite pending)').waitFor();
    assert.equal((await roles())['ana@example.com'], 'member');
    await page.getByRole('button', { name: 'Done' }).click();
    assert.equal(await link.count(), 0, 'the link is shown only once');
    await h.shotAtWidths('members');

    if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.evaluate(AXE);
    const serious = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id + ' at ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))`)) as string[];
    assert.deepEqual(serious, [], 'axe-core: no serious or critical finding');

    // The role, from its labelled select; then back, since a sole owner may not step down.
    await row.getByRole('combobox', { name: 'Role of ana@example.com' }).selectOption('owner');
    await page.waitForFunction(async () => {
      const r = await fetch('/ui/api/members').then((x) => x.json());
      return r.members.some((m: { email: string; role: string }) => m.email === 'ana@example.com' && m.role === 'owner');
    });
    assert.equal((await roles())['ana@example.com'], 'owner');
    await row.getByRole('combobox', { name: 'Role of ana@example.com' }).selectOption('member');
    await page.waitForFunction(() => (document.querySelector('select[aria-label="Role of ana@example.com"]') as HTMLSelectElement | null)?.value === 'member');
    await table.getByRole('combobox', { name: `Role of ${EMAIL}` }).selectOption('member');
    await page.getByRole('alert').filter({ hasText: /last owner/ }).waitFor();
    assert.equal(await table.getByRole('combobox', { name: `Role of ${EMAIL}` }).inputValue(), 'owner', 'the select shows the role kept');
    assert.equal((await roles())[EMAIL], 'owner');

    // Remove, after the confirm (the harness accepts dialogs), by keyboard.
    let asked = '';
    page.once('dialog', (d) => void (asked = d.message()));
    await row.getByRole('button', { name: 'Remove ana@example.com' }).focus();
    await page.keyboard.press('Enter');
    await row.waitFor({ state: 'detached' });
    assert.match(asked, /Remove ana@example\.com/);
    assert.equal((await roles())['ana@example.com'], undefined);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PASSWORD_MAX, PASSWORD_MIN, passwordProblem } from '../src/auth/password-policy.js';
import { ownerSetupToken } from '../src/commands/users.js';
import { BACKENDS } from './helpers/backends.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';

describe('password policy (NIST SP 800-63B)', () => {
  it(`asks ${PASSWORD_MIN} to ${PASSWORD_MAX} characters, counting each Unicode character once`, () => {
    assert.match(passwordProblem('a'.repeat(PASSWORD_MIN - 1)) ?? '', /at least 15 characters/);
    assert.match(passwordProblem('x'.repeat(PASSWORD_MAX + 1)) ?? '', /at most 1024 characters/);
    // 15 characters of 2 UTF-16 units each would be 30 units: still 15 characters, and too short by one below.
    assert.equal(passwordProblem('🐢🦉🌲🍄🐝🌊🔥🪨🌙⭐🍀🐚🦊🌵🐸'), null);
    assert.match(passwordProblem('🐢🦉🌲🍄🐝🌊🔥🪨🌙⭐🍀🐚🦊🌵') ?? '', /at least 15/);
    assert.ok(PASSWORD_MAX >= 64);
  });

  it('sets no composition rules: a phrase of lower-case words is fine', () => {
    for (const ok of ['correct horse battery', 'my cat eats paper clips', 'a long enough password', 'tally ho, said the fox']) assert.equal(passwordProblem(ok), null, ok);
  });

  it('refuses common and breached passwords, also with spaces or a tail of digits and symbols', () => {
    for (const bad of ['passwordpassword', '1qaz2wsx3edc4rfv', 'qwerty123456789', 'PasswordPassword', 'iloveyou 123456789', 'sunshine20242024!!', 'football!!!!!!!!!!']) {
      assert.match(passwordProblem(bad) ?? 'accepted', /common passwords|repeats|consecutive/, bad);
    }
    assert.match(passwordProblem('1qaz2wsx3edc4rfv') ?? '', /most common passwords/);
    assert.match(passwordProblem('monkey 999999999999') ?? '', /most common passwords/);
  });

  it('refuses repetitive and sequential strings', () => {
    for (const bad of ['aaaaaaaaaaaaaaa', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'abcabcabcabcabc', 'ababababababababab', 'aabbaabbaabbaabb']) assert.match(passwordProblem(bad) ?? 'accepted', /repeats/, bad);
    for (const bad of ['abcdefghijklmnop', 'ponmlkjihgfedcba', '123456789012345', 'qwertyuiopasdfgh']) assert.match(passwordProblem(bad) ?? 'accepted', /consecutive|common/, bad);
  });

  it("refuses the user's own email or its name part", () => {
    assert.match(passwordProblem('jane.doe@example.com', { email: 'Jane.Doe@example.com' }) ?? '', /email/);
    assert.match(passwordProblem('JaneDoe2024!!!!!', { email: 'jane.doe@example.com' }) ?? '', /email/);
    assert.equal(passwordProblem('JaneDoe2024!!!!!'), null, 'no email given, nothing to compare');
    assert.equal(passwordProblem('jane doe walks to the river at dawn', { email: 'jane.doe@example.com' }), null, 'a long phrase that also holds the name');
  });
});

for (const backend of BACKENDS) {
  describe(`setting a password through the setup link [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend);
    });
    after(() => t.close());

    it('answers 400 naming password with the reason, and the link still works afterwards', async () => {
      const token = await ownerSetupToken(t.store);
      assert.ok(token);
      const refusals: [string, RegExp][] = [
        ['aaaaaaaaaaaaaaaaaaaa', /repeats/],
        ['passwordpassword', /common|repeats/],
        ['owner@example.com!!', /email/],
        ['short', /at least 15/],
        ['123456789012345678', /consecutive|common/],
      ];
      for (const [password, reason] of refusals) {
        const res = await t.inject({ method: 'POST', url: `/ui/api/setup/${token}`, payload: { email: 'owner@example.com', password } });
        assert.equal(res.statusCode, 400, `${password}: ${res.body}`);
        const body = res.json() as { success: boolean; code: string; message: string };
        assert.equal(body.success, false);
        assert.equal(body.code, 'invalid_field');
        assert.match(body.message, /^password: /);
        assert.match(body.message, reason, password);
      }
      assert.equal(await t.store.accounts.findUserByEmail('owner@example.com'), null, 'no account was made');
      const ok = await t.inject({ method: 'POST', url: `/ui/api/setup/${token}`, payload: { email: 'owner@example.com', password: 'seven pale lanterns drift' } });
      assert.equal(ok.statusCode, 200, ok.body);
    });
  });
}

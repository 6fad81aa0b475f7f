import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hashPassword, needsRehash, verifyPassword } from '../../api/auth/password.js';
import { nicknameKey, nicknameProblem, passwordProblem } from '../../api/auth/rules.js';

describe('password hashing', () => {
  test('a hash verifies its password and no other', async () => {
    const hash = await hashPassword('s3cret pass');
    assert.match(hash, /^scrypt\$15\$8\$1\$/);
    assert.equal(await verifyPassword('s3cret pass', hash), true);
    assert.equal(await verifyPassword('s3cret pasS', hash), false);
    assert.equal(await verifyPassword('', hash), false);
  });

  test('the same password hashes differently each time (salted)', async () => {
    assert.notEqual(await hashPassword('same pass 1'), await hashPassword('same pass 1'));
  });

  test('Unicode passwords verify whatever their normalisation', async () => {
    const hash = await hashPassword('Café 2024 x');
    assert.equal(await verifyPassword('Cafe\u0301 2024 x', hash), true);
  });

  test('a malformed or over-costly stored hash never verifies and asks for a rehash', async () => {
    for (const stored of [
      '',
      'plain',
      'bcrypt$x',
      'scrypt$30$8$1$AAAAAAAAAAA$AAAA',
      'scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA$short',
    ]) {
      assert.equal(await verifyPassword('anything 1', stored), false, stored);
      assert.equal(needsRehash(stored), true, stored);
    }
  });

  test("a hash with weaker parameters than today asks for a rehash, today's does not", async () => {
    assert.equal(needsRehash(await hashPassword('today pass 1')), false);
    const weak = (await hashPassword('x')).replace(/^scrypt\$15\$/, 'scrypt$14$');
    assert.equal(needsRehash(weak), true);
  });
});

describe('account rules', () => {
  test('nicknames: 3..32 of letters, digits, dot, dash, underscore', () => {
    for (const ok of ['abc', 'Alice_B.2-x', 'x'.repeat(32)]) assert.equal(nicknameProblem(ok), null, ok);
    for (const bad of ['ab', 'x'.repeat(33), 'a b', 'zoë', 'a/b', 'a@b', '']) assert.ok(nicknameProblem(bad), bad);
    assert.equal(nicknameKey('AliCe'), 'alice');
  });

  test('passwords: long enough, varied, mixed when short, free of the nickname', () => {
    for (const ok of ['abcdef12', 'correct horse battery', 'Ünïcödé 42 ok'])
      assert.equal(passwordProblem(ok, 'bob'), null, ok);
    assert.match(passwordProblem('abc12', 'bob')!, /at least 8/);
    assert.match(passwordProblem(`a1${'x'.repeat(127)}`, 'bob')!, /at most 128/);
    assert.match(passwordProblem('abababab1111', 'bob')!, /4 different/);
    assert.match(passwordProblem('abcdefghij', 'bob')!, /letter and one digit/);
    assert.match(passwordProblem('12345678', 'bob')!, /letter and one digit/);
    assert.match(passwordProblem('my name is Bobby 12', 'bob')!, /nickname/);
  });
});

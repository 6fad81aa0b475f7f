import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { hashToken, sessionIdOf, Sessions } from '../../api/auth/Sessions.js';
import { OnairError } from '../../api/contract/errors.js';
import { MemoryStore } from '../../api/store/MemoryStore.js';

const HOUR = 3_600_000;

describe('Sessions', () => {
  let store: MemoryStore;
  let now: number;
  let sessions: Sessions;

  beforeEach(() => {
    store = new MemoryStore();
    now = Date.parse('2025-01-01T00:00:00Z');
    sessions = new Sessions(store, 6 * HOUR, () => now);
  });
  afterEach(() => store.close());

  const rejectsWith = (promise: Promise<unknown>, code: string) =>
    assert.rejects(promise, (err: unknown) => err instanceof OnairError && err.code === code);

  test('create() issues a token that verify() maps back to its user', async () => {
    const { token, expiresAt } = await sessions.create(42);
    assert.equal(expiresAt.getTime(), now + 6 * HOUR);
    const session = await sessions.verify(token);
    assert.deepEqual(session, {
      userId: 42,
      expiresAt: now + 6 * HOUR,
      tokenHash: hashToken(token),
      id: sessionIdOf(hashToken(token)),
    });
    assert.match(session.id, /^[A-Za-z0-9_-]{22}$/);
  });

  test('isActiveId() follows the session behind a public id: revoked or expired, it is over', async () => {
    const { token } = await sessions.create(1);
    const { id, tokenHash } = await sessions.verify(token);
    assert.equal(await sessions.isActiveId(id), true);
    for (const bad of [undefined, '', 'x', tokenHash, `${id}x`, { id }])
      assert.equal(await sessions.isActiveId(bad), false);
    const heard: string[] = [];
    const unsubscribe = await sessions.onRevoked((hash) => heard.push(hash));
    assert.equal(await sessions.revoke(token), true);
    assert.equal(await sessions.isActiveId(id), false);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(heard, [tokenHash], 'a revocation is announced with the hash');
    await unsubscribe();
    assert.deepEqual(await store.keys(''), [], 'nothing of the session is left in the store');
  });

  test("only the token's hash is stored, with the session TTL", async () => {
    const { token } = await sessions.create(1);
    const keys = (await store.keys('')).sort();
    const hash = hashToken(token);
    assert.deepEqual(keys, [`session-id:${sessionIdOf(hash)}`, `session:${hash}`]);
    for (const key of keys) {
      assert.ok(!JSON.stringify(await store.get(key)).includes(token.split('.')[1]!));
      const ttl = await store.ttl(key);
      assert.ok(ttl !== null && ttl <= 6 * HOUR && ttl > 6 * HOUR - 1000);
    }
  });

  test('a token past its expiry is auth.expiredToken, even once the store has dropped it', async () => {
    const { token } = await sessions.create(1);
    now += 6 * HOUR;
    await rejectsWith(sessions.verify(token), 'auth.expiredToken');
    await store.del(`session:${hashToken(token)}`);
    await rejectsWith(sessions.verify(token), 'auth.expiredToken');
  });

  test('a revoked, unknown or malformed token is auth.invalidToken', async () => {
    const { token } = await sessions.create(1);
    assert.equal(await sessions.revoke(token), true);
    assert.equal(await sessions.revoke(token), false);
    await rejectsWith(sessions.verify(token), 'auth.invalidToken');
    const forged = `${(now + HOUR).toString(36)}.${'A'.repeat(43)}`;
    await rejectsWith(sessions.verify(forged), 'auth.invalidToken');
    for (const bad of ['', 'abc', `${token}x`, token.replace('.', ''), `${'z'.repeat(13)}.${'A'.repeat(43)}`]) {
      await rejectsWith(sessions.verify(bad), 'auth.invalidToken');
    }
  });

  test('revokeHash() ends a session known only by its hash', async () => {
    const { token } = await sessions.create(7);
    const { tokenHash } = await sessions.verify(token);
    assert.equal(await sessions.revokeHash(tokenHash), true);
    await rejectsWith(sessions.verify(token), 'auth.invalidToken');
  });
});

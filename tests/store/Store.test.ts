import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { MemoryStore } from '../../api/store/MemoryStore.js';
import { RedisStore } from '../../api/store/RedisStore.js';
import { StoreClosedError, type Store } from '../../api/store/Store.js';
import { skipUnless } from '../support/services.js';
import { waitFor } from '../../drivers/wait.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A fresh store per test; Redis keys live under a random prefix and are deleted afterwards. */
const implementations: Array<{ name: string; skip: string | false; open: (prefix: string) => Promise<Store> }> = [
  { name: 'MemoryStore', skip: false, open: async (prefix) => new MemoryStore({ prefix }) },
  { name: 'RedisStore', skip: skipUnless('redis'), open: (prefix) => RedisStore.connect(REDIS_URL, { prefix }) },
];

for (const impl of implementations) {
  describe(impl.name, { skip: impl.skip }, () => {
    let store: Store;
    let prefix: string;
    const extra: Store[] = [];

    /** Another store on the same backend and prefix: another API process for Redis. */
    async function sibling(): Promise<Store> {
      const other = impl.name === 'RedisStore' ? await impl.open(prefix) : store;
      if (other !== store) extra.push(other);
      return other;
    }

    beforeEach(async () => {
      prefix = `onair_t_${randomBytes(6).toString('hex')}:`;
      store = await impl.open(prefix);
    });

    afterEach(async () => {
      for (const other of extra.splice(0)) await other.close();
      if (await store.ping()) {
        const keys = await store.keys('');
        await store.del(...keys);
      }
      await store.close();
    });

    test('set then get returns the value, del removes it', async () => {
      assert.equal(await store.get('a'), null);
      assert.equal(await store.set('a', 'one'), true);
      assert.equal(await store.get('a'), 'one');
      assert.equal(await store.del('a', 'missing'), 1);
      assert.equal(await store.get('a'), null);
      assert.equal(await store.del(), 0);
    });

    test('set with nx only writes a missing key', async () => {
      assert.equal(await store.set('k', 'first', { nx: true }), true);
      assert.equal(await store.set('k', 'second', { nx: true }), false);
      assert.equal(await store.get('k'), 'first');
    });

    test('a key set with a TTL reports it and disappears once it has passed', async () => {
      await store.set('short', 'x', { ttlMs: 150 });
      const ttl = await store.ttl('short');
      assert.ok(ttl !== null && ttl > 0 && ttl <= 150, `ttl ${ttl}`);
      await waitFor(async () => (await store.get('short')) === null, 'the key to expire');
      assert.equal(await store.ttl('short'), null);
      assert.deepEqual(await store.keys('short'), []);
    });

    test('ttl() is Infinity for a persistent key and null for a missing one; expire() sets one', async () => {
      await store.set('p', '1');
      assert.equal(await store.ttl('p'), Infinity);
      assert.equal(await store.ttl('nothing'), null);
      assert.equal(await store.expire('nothing', 1000), false);
      assert.equal(await store.expire('p', 60_000), true);
      const ttl = await store.ttl('p');
      assert.ok(ttl !== null && ttl > 50_000 && ttl <= 60_000, `ttl ${ttl}`);
    });

    test('incr() counts atomically and gives a new window its TTL without extending it', async () => {
      const first = await store.incr('hits', 1, 60_000);
      assert.equal(first.value, 1);
      assert.ok(first.ttlMs > 0 && first.ttlMs <= 60_000);
      await store.expire('hits', 30_000);
      const second = await store.incr('hits', 1, 60_000);
      assert.equal(second.value, 2);
      assert.ok(second.ttlMs <= 30_000, `window kept, ttl ${second.ttlMs}`);
      const results = await Promise.all(Array.from({ length: 50 }, () => store.incr('hits', 1, 60_000)));
      assert.equal(Math.max(...results.map((r) => r.value)), 52);
      assert.equal((await store.incr('hits', -2)).value, 50);
      assert.equal((await store.incr('plain')).ttlMs, Infinity);
    });

    test('incr() starts a new window at 1 once the old one has expired', async () => {
      await store.incr('w', 5, 100);
      await waitFor(async () => (await store.get('w')) === null, 'the window to end');
      assert.equal((await store.incr('w', 1, 100)).value, 1);
    });

    test('incr() rejects on a value that is not an integer', async () => {
      await store.set('text', 'abc');
      await assert.rejects(store.incr('text'));
    });

    test('compareAndSet() writes only from the expected value, and a replay loses', async () => {
      assert.equal(await store.compareAndSet('call', 'ringing', 'accepted'), false, 'nothing to compare with');
      assert.equal(await store.compareAndSet('call', null, 'ringing', { ttlMs: 60_000 }), true);
      assert.equal(await store.compareAndSet('call', null, 'ringing'), false, 'already exists');
      const ttl = await store.ttl('call');
      assert.ok(ttl !== null && ttl <= 60_000);
      // Two accepts race from the same state: exactly one wins.
      const racing = await Promise.all([
        store.compareAndSet('call', 'ringing', 'accepted:a'),
        store.compareAndSet('call', 'ringing', 'accepted:b'),
      ]);
      assert.deepEqual(racing.filter(Boolean).length, 1);
      const state = await store.get('call');
      assert.ok(state === 'accepted:a' || state === 'accepted:b');
      assert.equal(await store.ttl('call'), Infinity, 'written without ttlMs: persistent');
      assert.equal(await store.compareAndSet('call', 'ringing', 'accepted:c'), false, 'a replayed accept loses');
      assert.equal(await store.compareAndSet('call', state, null), true, 'null deletes');
      assert.equal(await store.get('call'), null);
    });

    test('compareAndSet() with a TTL lets the state expire', async () => {
      assert.equal(await store.compareAndSet('ring', null, 'ringing', { ttlMs: 100 }), true);
      await waitFor(async () => (await store.get('ring')) === null, 'the ringing state to expire');
      assert.equal(await store.compareAndSet('ring', 'ringing', 'accepted'), false, 'an accept after expiry loses');
    });

    test('hashes hold fields, count atomically and vanish when emptied', async () => {
      await store.hset('live:1', { title: 'Hello 👋', viewers: '0' });
      await store.hset('live:1', {});
      assert.equal(await store.hget('live:1', 'title'), 'Hello 👋');
      assert.equal(await store.hget('live:1', 'nope'), null);
      await Promise.all(Array.from({ length: 20 }, () => store.hincr('live:1', 'viewers')));
      assert.equal(await store.hincr('live:1', 'viewers', -5), 15);
      assert.deepEqual(await store.hgetall('live:1'), { title: 'Hello 👋', viewers: '15' });
      assert.deepEqual(await store.hgetall('live:none'), {});
      assert.equal(await store.hdel('live:1', 'title', 'viewers', 'nope'), 2);
      assert.equal(await store.ttl('live:1'), null, 'an empty hash is gone');
    });

    test('a TTL applies to a whole hash or set', async () => {
      await store.hset('h', { a: '1' });
      await store.sadd('s', 'x');
      await store.expire('h', 100);
      await store.expire('s', 100);
      await waitFor(
        async () => (await store.hget('h', 'a')) === null && (await store.scard('s')) === 0,
        'both to expire',
      );
    });

    test('sets add, remove and list members', async () => {
      assert.equal(await store.sadd('online', 'u1', 'u2', 'u2'), 2);
      assert.equal(await store.sadd('online', 'u2', 'u3'), 1);
      assert.equal(await store.sadd('online'), 0);
      assert.equal(await store.scard('online'), 3);
      assert.equal(await store.sismember('online', 'u1'), true);
      assert.equal(await store.sismember('online', 'u9'), false);
      assert.equal(await store.srem('online', 'u1', 'u9'), 1);
      assert.deepEqual((await store.smembers('online')).sort(), ['u2', 'u3']);
      assert.deepEqual(await store.smembers('nobody'), []);
      await store.srem('online', 'u2', 'u3');
      assert.equal(await store.ttl('online'), null, 'an empty set is gone');
    });

    test('using a key as another kind of value rejects with WRONGTYPE', async () => {
      await store.set('str', 'x');
      await assert.rejects(store.hset('str', { a: '1' }), /WRONGTYPE/);
      await assert.rejects(store.sadd('str', 'a'), /WRONGTYPE/);
      await store.sadd('set', 'a');
      await assert.rejects(store.get('set'), /WRONGTYPE/);
      await assert.rejects(store.hget('set', 'a'), /WRONGTYPE/);
    });

    test('keys() lists live keys by prefix, taking glob characters literally', async () => {
      await store.set('session:a', '1');
      await store.hset('session:b', { x: '1' });
      await store.sadd('presence:u1', 's1');
      await store.set('odd*[key]?', '1');
      await store.set('oddity', '1');
      await store.set('session:gone', '1', { ttlMs: 50 });
      await waitFor(async () => (await store.get('session:gone')) === null, 'session:gone to expire');
      assert.deepEqual((await store.keys('session:')).sort(), ['session:a', 'session:b']);
      assert.deepEqual(await store.keys('odd*'), ['odd*[key]?']);
      assert.deepEqual((await store.keys('')).sort(), [
        'odd*[key]?',
        'oddity',
        'presence:u1',
        'session:a',
        'session:b',
      ]);
    });

    test('a published message reaches every subscriber, also one on another connection', async () => {
      const other = await sibling();
      const heard: string[] = [];
      const heardElsewhere: string[] = [];
      const off = await store.subscribe('lives', (message, channel) => heard.push(`${channel}:${message}`));
      const offElsewhere = await other.subscribe('lives', (message) => heardElsewhere.push(message));
      await store.subscribe('calls', () => heard.push('wrong channel'));
      await other.publish('lives', 'started');
      await waitFor(() => heard.length === 1 && heardElsewhere.length === 1, 'both subscribers to hear');
      assert.deepEqual(heard, ['lives:started']);
      assert.deepEqual(heardElsewhere, ['started']);
      await off();
      await offElsewhere();
    });

    test('an unsubscribed listener hears nothing more while others still do', async () => {
      const first: string[] = [];
      const second: string[] = [];
      const offFirst = await store.subscribe('ch', (m) => first.push(m));
      const offSecond = await store.subscribe('ch', (m) => second.push(m));
      await store.publish('ch', 'one');
      await waitFor(() => first.length === 1 && second.length === 1, 'both listeners to hear "one"');
      await offFirst();
      await offFirst();
      await store.publish('ch', 'two');
      await waitFor(() => second.length === 2, 'the remaining listener to hear "two"');
      assert.deepEqual(first, ['one']);
      await offSecond();
    });

    test('subscribers racing onto a new channel are all listening once subscribe() resolves', async () => {
      const heard: string[] = [];
      await Promise.all(['a', 'b', 'c'].map((name) => store.subscribe('fresh', () => heard.push(name))));
      await store.publish('fresh', 'hello');
      await waitFor(() => heard.length === 3, 'all three listeners');
      assert.deepEqual(heard.sort(), ['a', 'b', 'c']);
    });

    test('stores with different prefixes do not see each other', async () => {
      const other = await impl.open(`${prefix}other:`);
      try {
        await store.set('k', 'mine');
        assert.equal(await other.get('k'), null);
        const heard: string[] = [];
        await other.subscribe('ch', (m) => heard.push(m));
        const control: string[] = [];
        await store.subscribe('ch', (m) => control.push(m));
        await store.publish('ch', 'hello');
        await waitFor(() => control.length === 1, 'the control listener');
        assert.deepEqual(heard, []);
      } finally {
        await other.close();
      }
    });

    test('close() is idempotent; afterwards ping() is false and operations reject', async () => {
      await store.set('k', 'v');
      const keys = await store.keys('');
      await store.del(...keys);
      await store.close();
      await store.close();
      assert.equal(await store.ping(), false);
      await assert.rejects(store.get('k'), StoreClosedError);
      await assert.rejects(store.publish('ch', 'x'), StoreClosedError);
    });
  });
}

describe('RedisStore.connect()', { skip: skipUnless('redis') }, () => {
  test('rejects with the address when Redis cannot be reached, leaving nothing open', async () => {
    await assert.rejects(
      RedisStore.connect('redis://127.0.0.1:1', { redis: { retryStrategy: () => null, connectTimeout: 1000 } }),
      /cannot reach Redis at 127\.0\.0\.1:1/,
    );
  });
});

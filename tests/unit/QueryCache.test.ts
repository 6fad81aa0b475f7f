/**
 * The library's answer cache (api/recordings/QueryCache.ts): kept under the library's version for its TTL, computed
 * once for simultaneous askers, computed again ahead of its expiry while the kept answer still answers, and the
 * least recently asked answers evicted first.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import type { Sequelize } from 'sequelize';
import { QueryCache } from '../../api/recordings/QueryCache.js';

const TTL_MS = 1000;
const noDatabase = {} as Sequelize;

/** A computation that counts its runs and answers `run N`, settled when the test says. */
function counted() {
  let runs = 0;
  const pending: Array<{ resolve: (v: string) => void; reject: (e: Error) => void }> = [];
  return {
    get runs() {
      return runs;
    },
    run: () => {
      runs++;
      const n = runs;
      return new Promise<string>((resolve, reject) => pending.push({ resolve: () => resolve(`run ${n}`), reject }));
    },
    settle: () => pending.shift()!.resolve(''),
    fail: () => pending.shift()!.reject(new Error('database gone')),
  };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

beforeEach(() => mock.timers.enable({ apis: ['Date'], now: 1_000_000 }));
afterEach(() => mock.timers.reset());

test('an answer is computed once for simultaneous askers and kept under its version for its TTL', async () => {
  const cache = new QueryCache(noDatabase, { ttlMs: TTL_MS });
  const c = counted();
  const first = cache.get('k', 'v1', c.run);
  const second = cache.get('k', 'v1', c.run);
  c.settle();
  assert.deepEqual(await first, { value: 'run 1', at: 1_000_000, fresh: true });
  assert.deepEqual(await second, { value: 'run 1', at: 1_000_000, fresh: false });
  mock.timers.tick(TTL_MS * 0.5);
  assert.equal((await cache.get('k', 'v1', c.run)).value, 'run 1');
  assert.equal(c.runs, 1);
  const other = cache.get('k', 'v2', c.run); // the library changed: never the old answer
  c.settle();
  assert.deepEqual(await other, { value: 'run 2', at: 1_000_500, fresh: true });
});

test('asked in the last part of its life, an answer is computed again in the background; nobody waits for it', async () => {
  const cache = new QueryCache(noDatabase, { ttlMs: TTL_MS });
  const c = counted();
  const first = cache.get('k', 'v1', c.run);
  c.settle();
  await first;
  mock.timers.tick(TTL_MS * 0.8);
  // The kept answer answers at once, while the refresh runs.
  assert.deepEqual(await cache.get('k', 'v1', c.run), { value: 'run 1', at: 1_000_000, fresh: false });
  assert.equal(await cache.get('k', 'v1', c.run).then((a) => a.value), 'run 1');
  assert.equal(c.runs, 2, 'one refresh however many ask');
  c.settle();
  await tick();
  mock.timers.tick(TTL_MS * 0.5); // past the first answer's expiry, within the refreshed one's
  assert.deepEqual(await cache.get('k', 'v1', c.run), { value: 'run 2', at: 1_000_800, fresh: false });
  assert.equal(c.runs, 2);
});

test('a refresh that fails leaves the kept answer until its expiry, then it is computed again', async () => {
  const cache = new QueryCache(noDatabase, { ttlMs: TTL_MS });
  const c = counted();
  const first = cache.get('k', 'v1', c.run);
  c.settle();
  await first;
  mock.timers.tick(TTL_MS * 0.9);
  assert.equal((await cache.get('k', 'v1', c.run)).value, 'run 1');
  c.fail();
  await tick();
  assert.equal((await cache.get('k', 'v1', c.run)).value, 'run 1');
  assert.equal(c.runs, 3, 'a later ask tries the refresh again');
  c.fail();
  await tick();
  mock.timers.tick(TTL_MS * 0.2);
  const expired = cache.get('k', 'v1', c.run);
  c.settle();
  assert.deepEqual(await expired, { value: 'run 4', at: 1_001_100, fresh: true });
});

test('an answer not asked for in its last part expires with its TTL', async () => {
  const cache = new QueryCache(noDatabase, { ttlMs: TTL_MS });
  const c = counted();
  const first = cache.get('k', 'v1', c.run);
  c.settle();
  await first;
  mock.timers.tick(TTL_MS);
  const again = cache.get('k', 'v1', c.run);
  c.settle();
  assert.equal((await again).fresh, true);
  assert.equal(c.runs, 2);
});

test('the least recently asked answer is evicted first', async () => {
  const cache = new QueryCache(noDatabase, { ttlMs: TTL_MS, max: 2 });
  let runs = 0;
  const ask = (key: string) => cache.get(key, 'v1', () => Promise.resolve(`${key} ${++runs}`));
  await ask('a');
  await ask('b');
  await ask('a'); // a is the most recently asked now
  await ask('c'); // evicts b
  assert.equal(runs, 3);
  assert.equal((await ask('a')).fresh, false);
  assert.equal((await ask('b')).fresh, true);
});

test('an answer built from older kept answers expires with the oldest of them', async () => {
  const cache = new QueryCache(noDatabase, { ttlMs: TTL_MS });
  let runs = 0;
  const asOf = (value: { countedAt: number }) => value.countedAt;
  const page = () => cache.get('page', 'v1', () => Promise.resolve({ countedAt: 1_000_000 - 600, n: ++runs }), asOf);
  assert.equal((await page()).fresh, true);
  mock.timers.tick(300); // the page is 300 ms old, the total it shows 900 ms: past the refresh point
  assert.equal((await page()).fresh, false);
  assert.equal(runs, 2, 'refreshed ahead of the total it shows');
  mock.timers.tick(150); // the total is over its TTL now: the kept page is not served
  assert.equal((await page()).fresh, true);
});

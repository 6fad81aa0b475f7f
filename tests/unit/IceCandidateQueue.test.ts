import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IceCandidateQueue } from '../../media/IceCandidateQueue.js';

const cand = (n: number) => ({
  candidate: `candidate:${n} 1 udp 1 127.0.0.1 ${5000 + n} typ host`,
  sdpMid: '0',
  sdpMLineIndex: 0,
});

test('queue.take() returns the candidates of a key in arrival order and forgets them', () => {
  const q = new IceCandidateQueue();
  q.push('s1|live|presenter', cand(1));
  q.push('s1|live|presenter', cand(2));
  q.push('s2|live|viewer', cand(3));
  assert.deepEqual(q.take('s1|live|presenter'), [cand(1), cand(2)]);
  assert.deepEqual(q.take('s1|live|presenter'), []);
  assert.equal(q.size, 1);
  q.clear();
  assert.equal(q.size, 0);
});

test('queue.push() refuses candidates beyond the per-key bound and keys beyond the key bound', () => {
  const q = new IceCandidateQueue({ maxPerKey: 2, maxKeys: 2 });
  assert.ok(q.push('a', cand(1)));
  assert.ok(q.push('a', cand(2)));
  assert.equal(q.push('a', cand(3)), false);
  assert.ok(q.push('b', cand(4)));
  assert.equal(q.push('c', cand(5)), false);
  assert.equal(q.take('a').length, 2);
  assert.ok(q.push('c', cand(5)));
  q.clear();
});

test('queued candidates expire after their time-to-live', async () => {
  const q = new IceCandidateQueue({ ttlMs: 30 });
  q.push('a', cand(1));
  q.push('b', cand(2));
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(q.take('a'), []);
  q.sweep();
  assert.equal(q.size, 0);
});

test('queue.drop() forgets one key only', () => {
  const q = new IceCandidateQueue();
  q.push('a', cand(1));
  q.push('b', cand(2));
  q.drop('a');
  assert.deepEqual(q.take('a'), []);
  assert.deepEqual(q.take('b'), [cand(2)]);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { candidateBytes, IceCandidateQueue } from '../../api/live/IceCandidateQueue.js';

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
  assert.ok(q.take('a').length === 2);
  assert.ok(q.push('a', cand(1)));
  assert.ok(q.push('b', cand(4)));
  // Full, and nobody holds more than the newcomer would: refused.
  assert.equal(q.push('c', cand(5)), false);
  assert.equal(q.take('a').length, 1);
  assert.ok(q.push('c', cand(5)));
  q.clear();
});

test('an owner (an account) may queue at most maxBytesPerOwner, over all its keys; others are not concerned', () => {
  const size = candidateBytes(cand(1));
  const q = new IceCandidateQueue({ maxBytesPerOwner: size * 5 });
  for (let i = 0; i < 5; i++) assert.ok(q.push(`s${i}|live|viewer`, cand(i), 'user:1'));
  assert.equal(q.push('s9|live|viewer', cand(9), 'user:1'), false, 'a new key does not reset the share');
  assert.equal(q.push('s0|live|viewer', cand(9), 'user:1'), false);
  assert.equal(q.bytes('user:1'), size * 5);
  assert.ok(q.push('t0|live|presenter', cand(1), 'user:2'));
  // Taking gives the share back.
  assert.equal(q.take('s0|live|viewer').length, 1);
  assert.ok(q.push('s9|live|viewer', cand(9), 'user:1'));
  q.clear();
});

test('the whole queue is bounded in bytes; one account filling it does not stop another', () => {
  const size = candidateBytes(cand(1));
  const q = new IceCandidateQueue({ maxBytes: size * 10, maxBytesPerOwner: size * 8 });
  for (let i = 0; i < 8; i++) assert.ok(q.push(`hog${i}`, cand(i), 'hog'));
  for (let i = 0; i < 2; i++) assert.ok(q.push(`mid${i}`, cand(i), 'mid'));
  assert.equal(q.bytes(), size * 10, 'full');
  // A newcomer gets room: the biggest holder loses its oldest key.
  assert.ok(q.push('new0', cand(1), 'new'));
  assert.deepEqual(q.take('hog0'), [], "the hog's oldest candidates gave way");
  assert.equal(q.take('hog1').length, 1, 'only as many as needed');
  assert.ok(q.bytes() <= size * 10);
  // The biggest holder itself gets no room at others' expense.
  assert.equal(q.push('hog1', cand(1), 'hog'), true, 'room freed by the take above');
  assert.equal(q.push('hog9', cand(9), 'hog'), false);
  // Between equals, nobody is evicted.
  const fair = new IceCandidateQueue({ maxBytes: size * 2 });
  assert.ok(fair.push('a', cand(1), 'u1'));
  assert.ok(fair.push('b', cand(2), 'u2'));
  assert.equal(fair.push('c', cand(3), 'u3'), false);
  assert.equal(fair.take('a').length, 1);
  q.clear();
  fair.clear();
});

test('with the defaults, a flood by one account holds a bounded memory and others still queue', () => {
  const q = new IceCandidateQueue();
  let accepted = 0;
  // What issue 11 measured: 10 000 keys × 64 candidates from one account (about 1 GiB before).
  for (let k = 0; k < 10_000; k++) {
    for (let i = 0; i < 64; i++) if (q.push(`flood${k}|live|viewer`, cand(i), 'user:attacker')) accepted++;
  }
  assert.ok(q.bytes() <= 128 * 1024, `${q.bytes()} bytes held`);
  assert.ok(accepted > 0 && accepted < 1000, `${accepted} accepted`);
  assert.ok(q.push('victim|live|presenter', cand(1), 'user:victim'));
  // Many accounts together stay under the global bound.
  for (let u = 0; u < 400; u++) for (let i = 0; i < 600; i++) q.push(`u${u}|live|viewer`, cand(i), `user:${u}`);
  assert.ok(q.bytes() <= 16 * 1024 * 1024, `${q.bytes()} bytes held`);
  assert.ok(q.push('late|live|presenter', cand(1), 'user:late'), 'a newcomer still gets in');
  q.clear();
  assert.equal(q.bytes(), 0);
});

test('byte counts go back to zero as keys are taken, dropped or expire', async () => {
  const q = new IceCandidateQueue({ ttlMs: 30 });
  q.push('a', cand(1), 'u1');
  q.push('b', cand(2), 'u1');
  q.push('c', cand(3), 'u2');
  q.take('a');
  q.drop('c');
  assert.equal(q.bytes('u2'), 0);
  await new Promise((r) => setTimeout(r, 60));
  q.sweep();
  assert.equal(q.bytes(), 0);
  assert.equal(q.bytes('u1'), 0);
  assert.equal(q.size, 0);
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

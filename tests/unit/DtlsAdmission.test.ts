/**
 * The engine's DTLS admission (media/engine/rtp/DtlsAdmission): a media process works on at most `limit`
 * handshakes at once, lets the others in first come first served as places free up, and never loses one: a
 * handshake that ends while waiting leaves the queue, one that never ends gives its place up after a while.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DtlsAdmission } from '../../media/engine/rtp/DtlsAdmission.js';

describe('DtlsAdmission', () => {
  test('lets `limit` handshakes in at once and the next ones in order as places free up', () => {
    const admission = new DtlsAdmission(2);
    const started: number[] = [];
    const ends = [0, 1, 2, 3, 4].map((i) => admission.enter(() => started.push(i)));
    assert.deepEqual(started, [0, 1]);
    assert.equal(admission.waiting, 3);
    ends[1]!();
    assert.deepEqual(started, [0, 1, 2]);
    ends[1]!(); // a second end frees nothing more
    assert.deepEqual(started, [0, 1, 2]);
    ends[0]!();
    ends[2]!();
    assert.deepEqual(started, [0, 1, 2, 3, 4]);
    assert.equal(admission.running, 2);
    admission.close();
    assert.equal(admission.running, 0);
  });

  test('a handshake that ends while waiting leaves the queue without ever starting', () => {
    const admission = new DtlsAdmission(1);
    const started: string[] = [];
    const first = admission.enter(() => started.push('first'));
    const gone = admission.enter(() => started.push('gone'));
    admission.enter(() => started.push('third'));
    gone();
    assert.equal(admission.waiting, 1);
    first();
    assert.deepEqual(started, ['first', 'third']);
    admission.close();
  });

  test('a handshake that never ends gives its place up after the slot time', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const admission = new DtlsAdmission(1);
    const started: string[] = [];
    admission.enter(() => started.push('stuck'));
    admission.enter(() => started.push('next'));
    t.mock.timers.tick(1999);
    assert.deepEqual(started, ['stuck']);
    t.mock.timers.tick(1);
    assert.deepEqual(started, ['stuck', 'next']);
    admission.close();
  });

  test('0 means no limit', () => {
    const admission = new DtlsAdmission(0);
    let started = 0;
    for (let i = 0; i < 100; i++) admission.enter(() => (started += 1));
    assert.equal(started, 100);
    admission.close();
  });
});

/**
 * IdleMemory: a worker collects its garbage once it has stayed without pipelines for a while, tells the server
 * before it blocks and after, never while it carries a pipeline, and not again while it stays idle.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { IdleMemory } from '../../media/engine/workers/IdleMemory.js';

function subject() {
  const log: string[] = [];
  let pipelines = 0;
  const idle = new IdleMemory(
    () => pipelines,
    (collecting) => log.push(collecting ? 'collecting' : 'done'),
    100,
    () => log.push('gc'),
  );
  return { log, idle, set: (n: number) => (pipelines = n) };
}

describe('IdleMemory', () => {
  test('collects once after the last pipeline is gone, the server told before and after', async () => {
    const { log, idle, set } = subject();
    idle.check();
    await sleep(300);
    assert.deepEqual(log, [], 'a worker that never carried a pipeline is left alone');
    set(1);
    idle.check();
    await sleep(300);
    assert.deepEqual(log, [], 'nothing while a pipeline is there');
    set(0);
    idle.check();
    await sleep(600);
    assert.deepEqual(log, ['collecting', 'gc', 'done']);
    assert.equal(idle.releases, 1);
    idle.check();
    await sleep(300);
    assert.equal(idle.releases, 1, 'not again while it stays idle');
  });

  test('a pipeline created before the collection cancels it', async () => {
    const { log, idle, set } = subject();
    set(1);
    idle.check();
    set(0);
    idle.check();
    await sleep(30);
    set(1);
    idle.check();
    await sleep(400);
    assert.equal(log.includes('gc'), false);
    assert.equal(idle.releases, 0);
    idle.cancel();
  });
});

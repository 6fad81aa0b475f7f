/**
 * Media workers behind the one WebSocket: pipelines go to the least loaded worker and stay wholly
 * inside it; a worker that dies takes only its own pipelines (their clients are told) and is replaced.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { IDLE_RELEASE_MS } from '../../media/engine/workers/IdleMemory.js';
import { skipUnless } from '../support/services.js';
import {
  assertBackToBaseline,
  call,
  connectClient,
  engineStats,
  nextEvent,
  useTestEngine,
  waitFor,
} from './helpers/engineHarness.js';

describe('media workers', { skip: skipUnless('chromium', 'ffmpeg') }, () => {
  const fixture = useTestEngine({ workers: 2 });
  afterEach(async () => {
    await assertBackToBaseline(fixture.engine.uri, fixture.baseline);
  });

  test('pipelines go to the least loaded worker, each with all its elements', async () => {
    const client = await connectClient(fixture.engine.uri);
    const busy = await client.create('MediaPipeline');
    await Promise.all([busy.create('WebRtcEndpoint'), busy.create('WebRtcEndpoint'), busy.create('PassThrough')]);
    const second = await client.create('MediaPipeline');
    await second.create('PassThrough');
    const third = await client.create('MediaPipeline');
    await third.create('PassThrough');
    const hosts = (await engineStats(fixture.engine.uri)).hosts;
    assert.equal(hosts.length, 2);
    assert.notEqual(hosts[0]!.pid, hosts[1]!.pid);
    const counts = hosts.map((h) => [h.pipelines, h.elements]).sort();
    assert.deepEqual(
      counts,
      [
        [1, 3],
        [2, 2],
      ],
      'the busy pipeline alone on one worker, the two light ones on the other',
    );
    await Promise.all([busy, second, third].map((p) => call((cb) => p.release(cb))));
  });

  test('pipelines created at the same moment spread over the workers', async () => {
    const client = await connectClient(fixture.engine.uri);
    const pipelines = await Promise.all([1, 2, 3, 4].map(() => client.create('MediaPipeline')));
    assert.deepEqual(
      (await engineStats(fixture.engine.uri)).hosts.map((h) => h.pipelines),
      [2, 2],
    );
    await Promise.all(pipelines.map((p) => call((cb) => p.release(cb))));
  });

  test("one live's viewers joining at the same moment spread evenly over the workers", async () => {
    const client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const presenter = await pipeline.create('WebRtcEndpoint');
    // As a join storm does: every viewer's endpoint is asked for before any of them is answered.
    const viewers = await Promise.all(Array.from({ length: 60 }, () => pipeline.create('WebRtcEndpoint')));
    await Promise.all(viewers.map((viewer) => call((cb) => presenter.connect(viewer, cb))));
    const endpoints = (await engineStats(fixture.engine.uri)).hosts.map((h) => h.webRtcEndpoints);
    assert.equal(endpoints.length, 2);
    assert.equal(endpoints[0]! + endpoints[1]!, 61);
    // The home worker also holds the presenter and the relay's source end: within two endpoints of an even split.
    assert.ok(Math.abs(endpoints[0]! - endpoints[1]!) <= 2, `endpoints per worker: ${endpoints.join(', ')}`);
    await call((cb) => pipeline.release(cb));
  });

  test('a worker that dies takes only its pipelines, their clients get an Error event, and it is replaced', async () => {
    const client = await connectClient(fixture.engine.uri);
    const doomed = await client.create('MediaPipeline');
    await doomed.create('PassThrough');
    const survivor = await client.create('MediaPipeline');
    const before = (await engineStats(fixture.engine.uri)).hosts;
    const victim = before.find((h) => h.elements === 1);
    assert.ok(victim, 'the doomed pipeline is on a worker of its own');
    const lost = nextEvent(doomed, 'Error');
    process.kill(victim.pid, 'SIGKILL');
    const error = await lost;
    assert.equal(error.type, 'MEDIA_OBJECT_NOT_AVAILABLE');
    await assert.rejects(
      call((cb) => doomed.getName(cb)),
      (err: any) => err.code === 40101,
    );
    assert.equal(await call((cb) => survivor.getName(cb)), survivor.id);
    await waitFor('a replacement worker', async () => {
      const hosts = (await engineStats(fixture.engine.uri)).hosts;
      return hosts.length === 2 && hosts.every((h) => h.pid !== victim.pid);
    });
    const fresh = await client.create('MediaPipeline');
    await fresh.create('WebRtcEndpoint');
    await Promise.all([survivor, fresh].map((p) => call((cb) => p.release(cb))));
  });

  test('a frozen worker does not hold up getUsedMemory: the server answers with its last figures', async () => {
    const client = await connectClient(fixture.engine.uri);
    const manager = await client.getServerManager();
    const before = await call<number>((cb) => manager.getUsedMemory(cb));
    const [frozen] = (await engineStats(fixture.engine.uri)).hosts;
    assert.ok(frozen);
    process.kill(frozen.pid, 'SIGSTOP');
    try {
      // Without the last figures it would wait for the frozen worker, i.e. until it is thawed below.
      let timer: NodeJS.Timeout | undefined;
      const during = await Promise.race([
        call<number>((cb) => manager.getUsedMemory(cb)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('no answer while a worker was frozen')), 10_000);
        }),
      ]).finally(() => clearTimeout(timer));
      assert.ok(during > 0 && before > 0);
    } finally {
      process.kill(frozen.pid, 'SIGCONT');
    }
  });

  test('a worker gives its memory back once its last pipeline is gone, and not while it carries one', async () => {
    const client = await connectClient(fixture.engine.uri);
    const releases = async (pid: number) =>
      (await engineStats(fixture.engine.uri)).hosts.find((h) => h.pid === pid)?.idleMemoryReleases;
    const pipeline = await client.create('MediaPipeline');
    await pipeline.create('WebRtcEndpoint');
    // Creating the pipeline cancelled any collection its worker still had pending from an earlier test.
    const host = (await engineStats(fixture.engine.uri)).hosts.find((h) => h.pipelines === 1);
    assert.ok(host, 'the pipeline is on one worker');
    const before = await releases(host.pid);
    assert.equal(typeof before, 'number');
    await sleep(IDLE_RELEASE_MS + 1500);
    assert.equal(await releases(host.pid), before, 'no collection while a pipeline is there');
    await call((cb) => pipeline.release(cb));
    await waitFor(
      'the idle worker’s collection',
      async () => (await releases(host.pid)) === before! + 1,
      IDLE_RELEASE_MS + 15_000,
    );
  });
});

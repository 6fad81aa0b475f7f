/**
 * A new viewer's first frame comes from its source's cached GOP, not from the presenter's next keyframe: a
 * PlayerEndpoint plays a clip whose only keyframe is its first frame (it cannot make another one on request),
 * and a Chromium viewer that joins seconds later decodes at once and keeps decoding the live packets that
 * follow (so the replay's numbering joins the live one). With ENGINE_GOP_CACHE_BYTES=0 this viewer never
 * decodes a frame. Also: an engine at ENGINE_MAX_ENDPOINTS refuses another WebRtcEndpoint with
 * NOT_ENOUGH_RESOURCES, across its workers, and takes one again once an endpoint is released.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, describe, test } from 'node:test';
import { Endpoint } from '../../media/Endpoint.js';
import { MediaError } from '../../media/errors.js';
import { connectKurento, createElement, createPipeline, release } from '../../media/kurento.js';
import { skipUnless } from '../support/services.js';
import {
  assertBackToBaseline,
  baselineOf,
  call,
  closeClients,
  connectClient,
  engineStats,
  startTestEngine,
  waitFor,
  type Baseline,
} from './helpers/engineHarness.js';
import { usePeerPages } from './helpers/peerPage.js';
import { makeClip } from './helpers/webmFiles.js';

const MEDIA_TIMEOUT_MS = 20_000;
const FPS = 20;
const CLIP_SECONDS = 20;

describe('a new viewer decodes from the cached GOP', { skip: skipUnless('chromium', 'ffmpeg') }, () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let baseline: Baseline;
  const peers = usePeerPages('onair-engine-gop-');
  let clip: string;

  before(async () => {
    engine = await startTestEngine();
    baseline = baselineOf(await engineStats(engine.uri));
    // One keyframe, at the start: nothing after it can be decoded without it.
    clip = await makeClip(peers.dir, 'one-keyframe.webm', {
      seconds: CLIP_SECONDS,
      fps: FPS,
      gop: CLIP_SECONDS * FPS * 2,
    });
  });
  after(async () => {
    await engine?.stop();
  });
  afterEach(async () => {
    await closeClients();
    await assertBackToBaseline(engine.uri, baseline);
  });

  /** A player of the one-keyframe clip; `offHome`: the viewer's endpoint on the other worker, fed through a relay. */
  async function lateViewerDecodes(offHome: boolean): Promise<void> {
    const client = await connectClient(engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const player = await pipeline.create('PlayerEndpoint', { uri: `file://${clip}` });
    await call((cb) => player.play(cb));
    // A pipeline's first two WebRtcEndpoints stay on its home worker; the next goes to the least loaded one.
    if (offHome) await Promise.all([pipeline.create('WebRtcEndpoint'), pipeline.create('WebRtcEndpoint')]);
    // The keyframe is long gone when the viewer connects.
    await sleep(3000);
    const endpoint = await pipeline.create('WebRtcEndpoint', { sendonly: true });
    await call((cb) => player.connect(endpoint, cb));
    if (offHome) {
      const hosts = (await engineStats(engine.uri)).hosts;
      assert.equal(
        hosts.reduce((sum, host) => sum + (host.relaySources ?? 0), 0),
        1,
        'the viewer is on the other worker, behind a relay',
      );
    }
    const viewer = await peers.open();
    await viewer.negotiate(endpoint, { send: false, receive: true });
    const first = await waitFor(
      'the late viewer to decode a frame',
      async () => {
        const stats = await viewer.stats();
        return stats.framesDecoded > 0 ? { ...stats, atMs: performance.now() } : undefined;
      },
      MEDIA_TIMEOUT_MS,
      50,
    );
    // The replay held every frame since the keyframe (about 3 s of them), decoded as one burst: a second's worth of
    // frames well within the second that live frames alone would take.
    const burst = await waitFor(
      "the GOP's frames to be decoded",
      async () => {
        const stats = await viewer.stats();
        return stats.framesDecoded >= FPS ? { ...stats, atMs: performance.now() } : undefined;
      },
      MEDIA_TIMEOUT_MS,
      50,
    );
    const burstMs = burst.atMs - first.atMs;
    assert.ok(
      burstMs < 700,
      `${FPS} frames decoded ${Math.round(burstMs)} ms after the first (live would take 950 ms)`,
    );
    // The live packets that follow the replay decode too: no gap or jump the decoder could not get over.
    await waitFor(
      'the viewer to go on decoding the live frames',
      async () => {
        const stats = await viewer.stats();
        return stats.framesDecoded >= first.framesDecoded + 2 * FPS && stats.audioSamples > first.audioSamples;
      },
      MEDIA_TIMEOUT_MS,
      250,
    );
    await call((cb) => pipeline.release(cb));
  }

  test('a viewer joining long after the only keyframe decodes a frame, then the live frames after it', async () => {
    await lateViewerDecodes(false);
  });

  test('a viewer on another worker than the source gets the GOP too: a new relay starts with it', async () => {
    await lateViewerDecodes(true);
  });
});

describe('an engine at ENGINE_MAX_ENDPOINTS', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let baseline: Baseline;

  before(async () => {
    engine = await startTestEngine({ workers: 2, env: { ENGINE_MAX_ENDPOINTS: '3' } });
    baseline = baselineOf(await engineStats(engine.uri));
  });
  after(async () => {
    await engine?.stop();
  });
  afterEach(async () => {
    await closeClients();
    await assertBackToBaseline(engine.uri, baseline);
  });

  test('refuses another WebRtcEndpoint with NOT_ENOUGH_RESOURCES, counting every worker, until one is released', async () => {
    const client = await connectClient(engine.uri);
    const [one, two] = [await client.create('MediaPipeline'), await client.create('MediaPipeline')];
    const hosts = (await engineStats(engine.uri)).hosts.filter((h) => h.pipelines > 0);
    assert.equal(hosts.length, 2, 'the two pipelines are on two workers');
    const first = await one.create('WebRtcEndpoint');
    await Promise.all([two.create('WebRtcEndpoint'), two.create('WebRtcEndpoint')]);
    // Other elements do not count.
    await one.create('PassThrough');
    const refused = await call((cb) => one.create('WebRtcEndpoint', cb)).then(
      () => undefined,
      (error: { code?: number; data?: { type?: string }; message?: string }) => error,
    );
    assert.ok(refused, 'the fourth endpoint is refused');
    assert.equal(refused.code, 40009);
    assert.equal(refused.data?.type, 'NOT_ENOUGH_RESOURCES');
    assert.match(refused.message ?? '', /capacity/);
    assert.equal(
      (await engineStats(engine.uri)).hosts.reduce((n, h) => n + h.webRtcEndpoints, 0),
      3,
    );

    await call((cb) => first.release(cb));
    await one.create('WebRtcEndpoint');
    await Promise.all([call((cb) => one.release(cb)), call((cb) => two.release(cb))]);
  });

  test("onair's media layer reports a refused endpoint once, as server.capacity, with no stack printed by kurento-client", async () => {
    const { client } = await connectKurento(engine.uri);
    const traces: unknown[] = [];
    const trace = console.trace;
    console.trace = (...args: unknown[]) => void traces.push(args);
    try {
      const pipeline = await createPipeline(client);
      await Promise.all([0, 1, 2].map(() => createElement(pipeline, 'WebRtcEndpoint')));
      await assert.rejects(
        Endpoint.create(pipeline, 'viewer'),
        (error: unknown) => error instanceof MediaError && error.code === 'server.capacity',
      );
      await release(pipeline);
    } finally {
      console.trace = trace;
      client.close();
    }
    assert.deepEqual(traces, []);
  });
});

/**
 * DTLS handshakes taken a few at a time (ENGINE_DTLS_CONCURRENCY): with one at a time, Chromium viewers that join
 * together all get through, each waiting its turn while its browser retransmits its ClientHello, and all decode.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
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

const VIEWERS = 4;
const MEDIA_TIMEOUT_MS = 30_000;

describe('DTLS handshakes one at a time', { skip: skipUnless('chromium', 'ffmpeg') }, () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let baseline: Baseline;
  const peers = usePeerPages('onair-engine-dtls-');
  let clip: string;

  before(async () => {
    engine = await startTestEngine({ workers: 1, env: { ENGINE_DTLS_CONCURRENCY: '1' } });
    baseline = baselineOf(await engineStats(engine.uri));
    clip = await makeClip(peers.dir, 'admission.webm', { seconds: 20, fps: 20, gop: 20 });
  });
  after(async () => {
    await engine?.stop();
  });
  afterEach(async () => {
    await closeClients();
    await assertBackToBaseline(engine.uri, baseline);
  });

  test(`${VIEWERS} viewers joining at once all connect and decode`, async () => {
    const client = await connectClient(engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const player = await pipeline.create('PlayerEndpoint', { uri: `file://${clip}` });
    await call((cb) => player.play(cb));
    const endpoints = await Promise.all(
      Array.from({ length: VIEWERS }, () => pipeline.create('WebRtcEndpoint', { sendonly: true })),
    );
    await Promise.all(endpoints.map((endpoint) => call((cb) => player.connect(endpoint, cb))));
    const viewers = await Promise.all(endpoints.map(() => peers.open()));
    await Promise.all(viewers.map((viewer, i) => viewer.negotiate(endpoints[i], { send: false, receive: true })));
    for (const [i, viewer] of viewers.entries()) {
      await waitFor(
        `viewer ${i + 1} to decode`,
        async () => ((await viewer.stats()).framesDecoded > 0 ? true : undefined),
        MEDIA_TIMEOUT_MS,
        100,
      );
    }
    assert.equal(
      (await engineStats(engine.uri)).hosts.reduce((n, h) => n + h.webRtcEndpoints, 0),
      VIEWERS,
    );
    await call((cb) => pipeline.release(cb));
  });
});

/**
 * The KMS-faithful mode (ENGINE_KMS_FAITHFUL=true): each behaviour of a real Kurento Media Server 7 that
 * onair's media layer must cope with, driven with the unmodified kurento-client or raw JSON-RPC. Each test
 * fails against the engine's normal mode (run the file with KMS_FAITHFUL_TEST_MODE=false to see it).
 */
import assert from 'node:assert/strict';
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, before, describe, test } from 'node:test';
import { skipUnless } from '../support/services.js';
import {
  assertBackToBaseline,
  call,
  closeClients,
  connectClient,
  engineStats,
  nextEvent,
  useTestEngine,
  waitFor,
} from './helpers/engineHarness.js';
import { usePeerPages } from './helpers/peerPage.js';
import { RawRpc } from './helpers/RawRpc.js';
import { makeClip, probePackets, webmLayout } from './helpers/webmFiles.js';

const FAITHFUL = process.env.KMS_FAITHFUL_TEST_MODE ?? 'true';
const SETUP_TIMEOUT_MS = 3000;
const KMS_STOP_AND_WAIT_MS = 4000;
const MEDIA_TIMEOUT_MS = 30_000;

describe('the KMS-faithful engine', { skip: skipUnless('chromium', 'ffmpeg') }, () => {
  const fixture = useTestEngine({
    env: {
      ENGINE_KMS_FAITHFUL: FAITHFUL,
      ENGINE_SETUP_TIMEOUT_MS: String(SETUP_TIMEOUT_MS),
      ENGINE_SESSION_GRACE_MS: '300',
    },
  });
  const peers = usePeerPages('onair-engine-kms-');
  let clip: string;
  let videoOnlyClip: string;

  /** A pipeline with a player of `file` connected to a recorder writing `out` with `mediaProfile`. */
  const playerInto = async (file: string, out: string, mediaProfile = 'WEBM') => {
    const client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const player = await pipeline.create('PlayerEndpoint', { uri: `file://${file}` });
    const recorder = await pipeline.create('RecorderEndpoint', { uri: `file://${out}`, mediaProfile });
    await call((cb) => player.connect(recorder, cb));
    return { client, pipeline, player, recorder };
  };

  /** Records `clip` for a while: returns once the file holds some media. */
  const recordSome = async (out: string) => {
    const parts = await playerInto(clip, out);
    await call((cb) => parts.recorder.record(cb));
    await call((cb) => parts.player.play(cb));
    await waitFor(
      'the recording to hold media',
      async () => ((await stat(out).catch(() => undefined))?.size ?? 0) > 20_000,
    );
    return parts;
  };

  before(async () => {
    clip = await makeClip(peers.dir, 'clip.webm', { seconds: 8 });
    videoOnlyClip = await makeClip(peers.dir, 'video-only.webm', { seconds: 8, audio: false });
  });
  afterEach(async () => {
    await assertBackToBaseline(fixture.engine.uri, fixture.baseline, 20_000);
  });

  test('the requests of one connection are answered one at a time, in order: a slow one delays a ping', async () => {
    const raw = await RawRpc.open(fixture.engine.uri);
    const order: unknown[] = [];
    raw.socket.on('message', (data) => order.push(JSON.parse(String(data)).id));
    await raw.ok('ping');
    order.length = 0;
    // getUsedCpu samples the CPU over `interval` ms before it answers: a slow request.
    const slow = raw.request('invoke', {
      object: 'manager_ServerManager',
      operation: 'getUsedCpu',
      operationParams: { interval: 1500 },
    });
    const ping = raw.request('ping');
    const [slowResponse, pingResponse] = await Promise.all([slow, ping]);
    assert.ok(slowResponse.result, JSON.stringify(slowResponse.error));
    assert.equal(pingResponse.result?.value, 'pong');
    assert.deepEqual(order, [slowResponse.id, pingResponse.id], 'the ping was answered before the slow request');
    await raw.close();
  });

  test('SDP offers and answers carry no candidates: they all trickle as IceCandidateFound', async () => {
    const client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const offerer = await pipeline.create('WebRtcEndpoint');
    const answerer = await pipeline.create('WebRtcEndpoint');
    const offer = await call<string>((cb) => offerer.generateOffer(cb));
    assert.doesNotMatch(offer, /a=candidate:/, 'the generated offer carries candidates');
    const answer = await call<string>((cb) => answerer.processOffer(offer, cb));
    assert.doesNotMatch(answer, /a=candidate:/, 'the answer carries candidates');
    const found = nextEvent(answerer, 'IceCandidateFound');
    await call((cb) => answerer.gatherCandidates(cb));
    assert.match((await found).candidate.candidate, /^candidate:/);
    await call((cb) => pipeline.release(cb));
  });

  test("forwarded video is capped at the default 500 kbps: REMB brings the presenter's estimate down", async () => {
    const client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const presenterEndpoint = await pipeline.create('WebRtcEndpoint');
    const viewerEndpoint = await pipeline.create('WebRtcEndpoint', { sendonly: true });
    await call((cb) => presenterEndpoint.connect(viewerEndpoint, cb));
    const presenter = await peers.open();
    await presenter.negotiate(presenterEndpoint, { send: true, receive: false });
    const viewer = await peers.open();
    await viewer.negotiate(viewerEndpoint, { send: false, receive: true });
    await waitFor('the viewer to decode', async () => (await viewer.stats()).framesDecoded > 10, MEDIA_TIMEOUT_MS);
    // Without REMB the browser's estimate climbs past 500 kbps within seconds on loopback; with it, it stays under.
    const estimates: number[] = [];
    for (let i = 0; i < 40; i++) {
      estimates.push(await presenter.outgoingBitrate());
      await sleep(250);
    }
    const highest = Math.max(...estimates);
    assert.ok(highest > 0, 'the presenter has a send estimate');
    assert.ok(highest <= 525_000, `the presenter's estimate reached ${highest} bps`);
    await call((cb) => pipeline.release(cb));
  });

  test('a recorder that cannot write: record() succeeds, an Error event follows, stopAndWait returns after 4 s', async () => {
    const blocker = path.join(peers.dir, 'not-a-directory');
    await writeFile(blocker, 'a file where a directory should be');
    const { pipeline, player, recorder } = await playerInto(clip, path.join(blocker, 'rec.webm'));
    const failed = nextEvent(recorder, 'Error');
    await call((cb) => recorder.record(cb));
    assert.match((await failed).description, /not-a-directory/);
    await call((cb) => player.play(cb));
    const stoppingAt = Date.now();
    await call((cb) => recorder.stopAndWait(cb));
    assert.ok(Date.now() - stoppingAt >= KMS_STOP_AND_WAIT_MS - 100, 'stopAndWait returned before its timeout');
    await call((cb) => pipeline.release(cb));
  });

  test('an endpoint whose set-up times out reports an Error but is not released by the engine', async () => {
    const client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const [ghost, endpoint] = await Promise.all([pipeline.create('WebRtcEndpoint'), pipeline.create('WebRtcEndpoint')]);
    const offer = await call<string>((cb) => ghost.generateOffer(cb));
    await call((cb) => ghost.release(cb));
    const failed = nextEvent(endpoint, 'Error', SETUP_TIMEOUT_MS + 15_000);
    await call((cb) => endpoint.processOffer(offer, cb));
    assert.equal((await failed).errorCode, 40004);
    await sleep(500);
    const other = await connectClient(fixture.engine.uri);
    const found = await other.getMediaobjectById(endpoint.id);
    assert.equal(found.id, endpoint.id);
    assert.equal(await call((cb) => endpoint.getMediaState(cb)), 'DISCONNECTED');
    await call((cb) => pipeline.release(cb));
  });

  test('a recorder released right after stop() leaves an unfinished file (no duration, no cues)', async () => {
    const out = path.join(peers.dir, 'released.webm');
    const { pipeline, recorder } = await recordSome(out);
    await call((cb) => recorder.stop(cb));
    await call((cb) => recorder.release(cb));
    await sleep(1500);
    const layout = await webmLayout(out);
    assert.equal(layout.durationMs, undefined, 'the file was finished with a duration');
    assert.equal(layout.cuePoints, 0, 'the file was finished with cues');
    await call((cb) => pipeline.release(cb));
  });

  test('a recorder whose pipeline is released while it records leaves an unfinished file', async () => {
    const out = path.join(peers.dir, 'pipeline-released.webm');
    const { pipeline } = await recordSome(out);
    await call((cb) => pipeline.release(cb));
    await sleep(1500);
    const layout = await webmLayout(out);
    assert.equal(layout.durationMs, undefined, 'the file was finished with a duration');
    assert.equal(layout.cuePoints, 0, 'the file was finished with cues');
  });

  test('a connected media type that never flows: WEBM records nothing, WEBM_VIDEO_ONLY records the video', async () => {
    const both = path.join(peers.dir, 'video-only-as-webm.webm');
    const videoOnly = path.join(peers.dir, 'video-only-as-video.webm');
    const { pipeline, player, recorder } = await playerInto(videoOnlyClip, both, 'WEBM');
    const videoRecorder = await pipeline.create('RecorderEndpoint', {
      uri: `file://${videoOnly}`,
      mediaProfile: 'WEBM_VIDEO_ONLY',
    });
    await call((cb) => player.connect(videoRecorder, cb));
    await call((cb) => recorder.record(cb));
    await call((cb) => videoRecorder.record(cb));
    await call((cb) => player.play(cb));
    await waitFor('the video-only recording to hold media', async () => (await stat(videoOnly)).size > 20_000);
    await sleep(1000);
    await Promise.all([call((cb) => recorder.stopAndWait(cb)), call((cb) => videoRecorder.stopAndWait(cb))]);
    assert.ok((await probePackets(videoOnly, 'v')).length > 10, 'WEBM_VIDEO_ONLY recorded the video');
    const recorded = await probePackets(both, 'v').catch(() => []);
    assert.equal(recorded.length, 0, 'WEBM recorded video although audio never flowed');
    await call((cb) => pipeline.release(cb));
  });

  test('a pipeline reached by more than one session is never collected; one only its creator used is', async () => {
    const before = await engineStats(fixture.engine.uri);
    const creator = await connectClient(fixture.engine.uri);
    const alone = await creator.create('MediaPipeline');
    const shared = await creator.create('MediaPipeline');
    const other = await connectClient(fixture.engine.uri);
    const reached = await other.getMediaobjectById(shared.id);
    await call((cb) => reached.setName('shared', cb));
    const sharedId = shared.id;
    await closeClients();
    await waitFor(
      'both sessions to expire',
      async () => (await engineStats(fixture.engine.uri)).sessions === before.sessions,
    );
    await sleep(1000);
    const stats = await engineStats(fixture.engine.uri);
    assert.equal(stats.pipelines, before.pipelines + 1, 'the shared pipeline was collected (or the other kept)');
    const cleaner = await connectClient(fixture.engine.uri);
    const found = await cleaner.getMediaobjectById(sharedId);
    assert.equal(await call((cb) => found.getName(cb)), 'shared');
    await assert.rejects(cleaner.getMediaobjectById(alone.id), (err: any) => err.code === 40101);
    await call((cb) => found.release(cb));
  });
});

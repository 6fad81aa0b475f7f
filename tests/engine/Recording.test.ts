/**
 * Recording a live through the engine, end to end: Chromium presents, a RecorderEndpoint writes the
 * file, ffprobe judges it. And a recording whose engine is killed mid-way still decodes.
 */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, test } from 'node:test';
import { skipUnless } from '../support/services.js';
import {
  assertBackToBaseline,
  call,
  closeClients,
  connectClient,
  nextEvent,
  startTestEngine,
  useTestEngine,
  waitFor,
} from './helpers/engineHarness.js';
import { usePeerPages } from './helpers/peerPage.js';
import { coverage, decode, probeFile, probePackets, webmLayout } from './helpers/webmFiles.js';

const LIVE_SECONDS = 10;

describe('recording a live through the engine', { skip: skipUnless('chromium', 'ffmpeg') }, () => {
  // The pages close before the fixture closes the clients (hooks run in the order they are registered).
  const peers = usePeerPages('onair-engine-rec-');
  const fixture = useTestEngine();

  /** A presenter page sending into a new pipeline's WebRtcEndpoint, connected to a recorder writing `file`. */
  const presentInto = async (uri: string, file: string) => {
    const client = await connectClient(uri);
    const pipeline = await client.create('MediaPipeline');
    const endpoint = await pipeline.create('WebRtcEndpoint');
    const recorder = await pipeline.create('RecorderEndpoint', { uri: `file://${file}`, mediaProfile: 'WEBM' });
    await call((cb) => endpoint.connect(recorder, cb));
    const page = await peers.open();
    const flowing = nextEvent(endpoint, 'MediaFlowInStateChanged', 30_000);
    await page.negotiate(endpoint, { send: true, receive: false });
    await flowing;
    return { pipeline, recorder };
  };

  afterEach(async () => {
    await assertBackToBaseline(fixture.engine.uri, fixture.baseline);
  });

  test(`a ${LIVE_SECONDS} s live is recorded as a seekable VP8 + Opus file as long as the live, with audio throughout`, async () => {
    const file = path.join(peers.dir, 'live.webm');
    const { pipeline, recorder } = await presentInto(fixture.engine.uri, file);
    const recording = nextEvent(recorder, 'Recording');
    await call((cb) => recorder.record(cb));
    const startedAt = Date.now();
    await recording;
    await sleep(LIVE_SECONDS * 1000);
    const stopped = nextEvent(recorder, 'Stopped');
    const stoppingAt = Date.now();
    await call((cb) => recorder.stopAndWait(cb));
    await stopped;
    const wallSeconds = (stoppingAt - startedAt) / 1000;

    const probed = await probeFile(file);
    assert.deepEqual(probed.codecs, ['opus', 'vp8']);
    assert.ok(
      Math.abs(probed.duration - wallSeconds) <= 0.5,
      `file lasts ${probed.duration} s for ${wallSeconds} s of live`,
    );
    const audio = await probePackets(file, 'a');
    assert.ok(
      coverage(audio, probed.duration) >= 0.95,
      `audio covers ${(100 * coverage(audio, probed.duration)).toFixed(1)} %`,
    );
    const layout = await webmLayout(file);
    assert.ok(layout.durationMs !== undefined && layout.cuePoints > 0, 'duration and cues are written');
    assert.ok(layout.seekTargets.includes('Cues'), 'the SeekHead points at the cues');
    const { code, errors } = await decode(file);
    assert.equal(code, 0, errors);
    await call((cb) => pipeline.release(cb));
  });

  test('a recording whose engine is killed mid-way still decodes', async () => {
    const doomed = await startTestEngine();
    const file = path.join(peers.dir, 'killed.webm');
    try {
      const { recorder } = await presentInto(doomed.uri, file);
      await call((cb) => recorder.record(cb));
      await waitFor(
        'the recording to start',
        async () => ((await stat(file).catch(() => undefined))?.size ?? 0) > 0,
        20_000,
      );
      await sleep(4000);
      doomed.kill('SIGKILL');
    } finally {
      await doomed.stop();
    }
    await closeClients();
    const probed = await probeFile(file);
    assert.deepEqual(probed.codecs, ['opus', 'vp8']);
    const { code, errors, frames } = await decode(file);
    assert.equal(code, 0, errors);
    const unexpected = errors.split('\n').filter((line) => line && !/File ended prematurely/.test(line));
    assert.deepEqual(unexpected, [], 'ffmpeg reads the unfinished file without errors');
    assert.ok(frames >= 20, `${frames} frames decoded`);
  });
});

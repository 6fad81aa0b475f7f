/**
 * RtpEndpoint between two engine processes, the way a live is cascaded across media servers:
 * pipeline A (Chromium presenter → WebRtcEndpoint → rtpA), pipeline B (rtpB → WebRtcEndpoint →
 * Chromium viewer), the RtpEndpoints negotiated with generateOffer / processOffer / processAnswer.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import kurento from 'kurento-client';
import { skipUnless } from '../support/services.js';
import {
  assertBackToBaseline,
  baselineOf,
  call,
  closeClients,
  connectClient,
  engineStats,
  nextEvent,
  startTestEngine,
  waitFor,
  type Baseline,
  type KurentoClient,
} from './helpers/engineHarness.js';
import { PeerPage, decoding, usePeerPages } from './helpers/peerPage.js';
import { decode, probeFile } from './helpers/webmFiles.js';

const MEDIA_TIMEOUT_MS = 30_000;
/** kurento-client's SDES complex type (the `crypto` constructor param). */
const sdes = kurento.getComplexType('SDES') as (fields: Record<string, unknown>) => Record<string, unknown>;

/** The PLIs and FIRs the presenter's browser has received for its video. */
async function keyframeRequests(page: PeerPage): Promise<number> {
  return page.page.evaluate(`(async () => {
    let n = 0;
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') n += (s.pliCount || 0) + (s.firCount || 0);
    });
    return n;
  })()`);
}

type Engine = Awaited<ReturnType<typeof startTestEngine>>;

for (const faithful of [false, true]) {
  const mode = faithful ? ' (ENGINE_KMS_FAITHFUL)' : '';
  describe(`RtpEndpoint: a live cascaded across two engines${mode}`, { skip: skipUnless('chromium', 'ffmpeg') }, () => {
    let engineA: Engine;
    let engineB: Engine;
    let baselineA: Baseline;
    let baselineB: Baseline;
    const peers = usePeerPages('onair-engine-rtp-');

    /** Pipeline A with a presenter endpoint feeding rtpA, pipeline B with rtpB; rtpB offers, rtpA answers. */
    const cascade = async (crypto?: { a?: Record<string, unknown>; b?: Record<string, unknown> }) => {
      const clientA: KurentoClient = await connectClient(engineA.uri);
      const clientB: KurentoClient = await connectClient(engineB.uri);
      const pipelineA = await clientA.create('MediaPipeline');
      const pipelineB = await clientB.create('MediaPipeline');
      const presenterEndpoint = await pipelineA.create('WebRtcEndpoint');
      const rtpA = await pipelineA.create('RtpEndpoint', crypto?.a ? { crypto: sdes(crypto.a) } : {});
      const rtpB = await pipelineB.create('RtpEndpoint', crypto?.b ? { crypto: sdes(crypto.b) } : {});
      await call((cb) => presenterEndpoint.connect(rtpA, cb));
      return { clientA, clientB, pipelineA, pipelineB, presenterEndpoint, rtpA, rtpB };
    };

    const negotiate = async (offerer: any, answerer: any, mangle = (sdp: string) => sdp) => {
      const offer = await call<string>((cb) => offerer.generateOffer(cb));
      const answer = await call<string>((cb) => answerer.processOffer(mangle(offer), cb));
      await call((cb) => offerer.processAnswer(answer, cb));
      return { offer, answer };
    };

    before(async () => {
      const opts = faithful ? { env: { ENGINE_KMS_FAITHFUL: 'true' } } : {};
      // Engine B keeps no GOP (as KMS does not): a viewer joining there must ask the presenter on A for a keyframe,
      // across the pair, instead of starting from rtpB's cached GOP.
      const optsB = { env: { ...opts.env, ENGINE_GOP_CACHE_BYTES: '0' } };
      [engineA, engineB] = await Promise.all([startTestEngine(opts), startTestEngine(optsB)]);
      baselineA = baselineOf(await engineStats(engineA.uri));
      baselineB = baselineOf(await engineStats(engineB.uri));
    });
    after(async () => {
      await Promise.all([engineA?.stop(), engineB?.stop()]);
    });
    afterEach(async () => {
      await closeClients();
      await assertBackToBaseline(engineA.uri, baselineA);
      await assertBackToBaseline(engineB.uri, baselineB);
    });

    test('a viewer on engine B decodes the video and plays the audio of a presenter on engine A', async () => {
      const { pipelineA, pipelineB, presenterEndpoint, rtpA, rtpB } = await cascade();
      const { offer, answer } = await negotiate(rtpB, rtpA);
      assert.match(offer, /^m=audio \d+ RTP\/AVPF 111\r$/m);
      assert.match(offer, /^m=video \d+ RTP\/AVPF 96 102\r$/m);
      assert.match(answer, /^a=rtcp:\d+\r$/m);
      assert.doesNotMatch(answer, /a=(candidate|fingerprint|ice-ufrag|crypto)/);
      assert.equal(await call((cb) => rtpA.getRemoteSessionDescriptor(cb)), offer);
      assert.equal(await call((cb) => rtpB.getLocalSessionDescriptor(cb)), offer);
      assert.equal(await call((cb) => rtpB.getConnectionState(cb)), 'CONNECTED');

      const flowingIn = nextEvent(rtpB, 'MediaFlowInStateChanged', MEDIA_TIMEOUT_MS);
      const mediaState = nextEvent(rtpB, 'MediaStateChanged', MEDIA_TIMEOUT_MS);
      const viewerEndpoint = await pipelineB.create('WebRtcEndpoint', { sendonly: true });
      await call((cb) => rtpB.connect(viewerEndpoint, cb));
      const presenter = await peers.open();
      await presenter.negotiate(presenterEndpoint, { send: true, receive: false });
      const viewer = await peers.open();
      await viewer.negotiate(viewerEndpoint, { send: false, receive: true });
      assert.equal((await flowingIn).state, 'FLOWING');
      assert.equal((await mediaState).newState, 'CONNECTED');
      const first = await decoding(viewer, 'the viewer on engine B');
      await decoding(viewer, 'the viewer on engine B (still)', first);
      assert.equal(first.videoCodec, 'video/VP8');
      assert.equal(await call((cb) => rtpA.isMediaFlowingOut('VIDEO', cb)), true);
      assert.equal(await call((cb) => rtpB.isMediaFlowingIn('AUDIO', cb)), true);
      await call((cb) => pipelineA.release(cb));
      await call((cb) => pipelineB.release(cb));
    });

    // The rest does not depend on the mode: run once.
    if (faithful) return;

    test('a keyframe request from a viewer joining on engine B reaches the presenter on engine A', async () => {
      const { pipelineA, pipelineB, presenterEndpoint, rtpA, rtpB } = await cascade();
      await negotiate(rtpA, rtpB);
      const firstEndpoint = await pipelineB.create('WebRtcEndpoint', { sendonly: true });
      await call((cb) => rtpB.connect(firstEndpoint, cb));
      const presenter = await peers.open();
      await presenter.negotiate(presenterEndpoint, { send: true, receive: false });
      const first = await peers.open();
      await first.negotiate(firstEndpoint, { send: false, receive: true });
      await decoding(first, 'the first viewer on engine B');
      // Once the first viewer is served, nothing asks the presenter for keyframes: the count settles.
      const settled = await waitFor(
        "the presenter's keyframe requests to settle",
        async () => {
          const before = await keyframeRequests(presenter);
          await new Promise((resolve) => setTimeout(resolve, 1500));
          return (await keyframeRequests(presenter)) === before ? { count: before } : undefined;
        },
        MEDIA_TIMEOUT_MS,
        0,
      );
      const second = await pipelineB.create('WebRtcEndpoint', { sendonly: true });
      await call((cb) => rtpB.connect(second, cb));
      await waitFor(
        'a keyframe request from engine B at the presenter',
        async () => (await keyframeRequests(presenter)) > settled.count,
        MEDIA_TIMEOUT_MS,
        250,
      );
      await call((cb) => pipelineA.release(cb));
      await call((cb) => pipelineB.release(cb));
    });

    test('an H.264 presenter reaches an H.264 viewer on engine B (the pair negotiates the presenter’s codec)', async () => {
      const { pipelineA, pipelineB, presenterEndpoint, rtpA, rtpB } = await cascade();
      const presenter = await peers.open();
      await presenter.negotiate(presenterEndpoint, { send: true, receive: false, videoCodec: 'H264' });
      const { answer } = await negotiate(rtpB, rtpA);
      assert.match(answer, /^m=video \d+ RTP\/AVPF 102\r$/m);
      assert.match(answer, /^a=rtpmap:102 H264\/90000\r$/m);
      const viewerEndpoint = await pipelineB.create('WebRtcEndpoint', { sendonly: true });
      await call((cb) => rtpB.connect(viewerEndpoint, cb));
      const viewer = await peers.open();
      await viewer.negotiate(viewerEndpoint, { send: false, receive: true });
      const stats = await decoding(viewer, 'the H.264 viewer on engine B');
      assert.equal(stats.videoCodec, 'video/H264');
      await call((cb) => pipelineA.release(cb));
      await call((cb) => pipelineB.release(cb));
    });

    test('a RecorderEndpoint on engine B fed by rtpB writes a VP8 + Opus file ffmpeg decodes', async () => {
      const { pipelineA, pipelineB, presenterEndpoint, rtpA, rtpB } = await cascade();
      await negotiate(rtpB, rtpA);
      const file = path.join(peers.dir, 'relayed.webm');
      const recorder = await pipelineB.create('RecorderEndpoint', { uri: `file://${file}`, mediaProfile: 'WEBM' });
      await call((cb) => rtpB.connect(recorder, cb));
      const presenter = await peers.open();
      await presenter.negotiate(presenterEndpoint, { send: true, receive: false });
      await waitFor(
        'media to reach rtpB',
        () => call((cb) => rtpB.isMediaFlowingIn('VIDEO', cb)),
        MEDIA_TIMEOUT_MS,
        250,
      );
      const recording = nextEvent(recorder, 'Recording');
      await call((cb) => recorder.record(cb));
      await recording;
      await new Promise((resolve) => setTimeout(resolve, 3000));
      await call((cb) => recorder.stopAndWait(cb));
      const probed = await probeFile(file);
      assert.deepEqual(probed.codecs, ['opus', 'vp8']);
      const { code, errors, frames } = await decode(file);
      assert.equal(code, 0, errors);
      assert.ok(frames > 0, 'video frames decoded');
      await call((cb) => pipelineA.release(cb));
      await call((cb) => pipelineB.release(cb));
    });

    for (const [suiteA, suiteB] of [
      ['AES_128_CM_HMAC_SHA1_80', 'AES_128_CM_HMAC_SHA1_80'],
      ['AES_256_CM_HMAC_SHA1_32', 'AES_256_CM_HMAC_SHA1_32'],
    ] as const) {
      test(`SRTP (${suiteA}): the viewer on engine B decodes, the SDP carries RTP/SAVPF and the keys`, async () => {
        const keyA = randomBytes(suiteA.includes('256') ? 46 : 30).toString('base64');
        const { pipelineA, pipelineB, presenterEndpoint, rtpA, rtpB } = await cascade({
          a: { crypto: suiteA, keyBase64: keyA },
          b: { crypto: suiteB },
        });
        const { offer, answer } = await negotiate(rtpB, rtpA);
        const sdpSuite = suiteA.replace('AES_128_CM', 'AES_CM_128');
        assert.match(offer, /^m=video \d+ RTP\/SAVPF /m);
        assert.match(offer, new RegExp(`^a=crypto:1 ${sdpSuite} inline:\\S+\r$`, 'm'));
        assert.ok(answer.includes(`a=crypto:1 ${sdpSuite} inline:${keyA}`), "the answer carries A's own key");
        const viewerEndpoint = await pipelineB.create('WebRtcEndpoint', { sendonly: true });
        await call((cb) => rtpB.connect(viewerEndpoint, cb));
        const presenter = await peers.open();
        await presenter.negotiate(presenterEndpoint, { send: true, receive: false });
        const viewer = await peers.open();
        await viewer.negotiate(viewerEndpoint, { send: false, receive: true });
        await decoding(viewer, 'the SRTP viewer on engine B');
        await call((cb) => pipelineA.release(cb));
        await call((cb) => pipelineB.release(cb));
      });
    }

    test('SRTP with a wrong key: engine B receives packets but no media', async () => {
      const { pipelineA, pipelineB, presenterEndpoint, rtpA, rtpB } = await cascade({
        a: { crypto: 'AES_128_CM_HMAC_SHA1_80' },
        b: { crypto: 'AES_128_CM_HMAC_SHA1_80' },
      });
      const offer = await call<string>((cb) => rtpB.generateOffer(cb));
      const answer = await call<string>((cb) => rtpA.processOffer(offer, cb));
      const wrongKey = randomBytes(30).toString('base64');
      await call((cb) => rtpB.processAnswer(answer.replace(/inline:\S+/g, `inline:${wrongKey}`), cb));
      const viewerEndpoint = await pipelineB.create('WebRtcEndpoint', { sendonly: true });
      await call((cb) => rtpB.connect(viewerEndpoint, cb));
      const presenter = await peers.open();
      await presenter.negotiate(presenterEndpoint, { send: true, receive: false });
      const viewer = await peers.open();
      await viewer.negotiate(viewerEndpoint, { send: false, receive: true });
      await waitFor('rtpA to send', () => call((cb) => rtpA.isMediaFlowingOut('VIDEO', cb)), MEDIA_TIMEOUT_MS, 250);
      await waitFor(
        'engine B to reject what it cannot authenticate',
        async () => (await call<any>((cb) => rtpB.getStats('VIDEO', cb)))['video-inbound']?.packetsRejected > 50,
        MEDIA_TIMEOUT_MS,
        250,
      );
      assert.equal(await call((cb) => rtpB.isMediaFlowingIn('VIDEO', cb)), false);
      assert.equal((await viewer.stats()).framesDecoded, 0);
      await call((cb) => pipelineA.release(cb));
      await call((cb) => pipelineB.release(cb));
    });
  });
}

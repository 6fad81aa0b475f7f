/**
 * Real media through the engine: Chromium with a fake camera presents, its loopback preview and
 * Chromium viewers decode video and play audio; a PlayerEndpoint is a source without a browser;
 * H.264 is forwarded when source and viewers agree; a viewer follows a change of source.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { skipUnless } from '../support/services.js';
import {
  assertBackToBaseline,
  call,
  connectClient,
  type KurentoClient,
  nextEvent,
  useTestEngine,
  waitFor,
} from './helpers/engineHarness.js';
import { decoding, usePeerPages } from './helpers/peerPage.js';
import { makeClip } from './helpers/webmFiles.js';

const MEDIA_TIMEOUT_MS = 30_000;

describe('media through the engine with Chromium', { skip: skipUnless('chromium', 'ffmpeg') }, () => {
  const fixture = useTestEngine();
  const peers = usePeerPages('onair-engine-media-');
  let client: KurentoClient;

  afterEach(async () => {
    await assertBackToBaseline(fixture.engine.uri, fixture.baseline);
  });

  test('the presenter sees its loopback preview and three viewers decode its video and play its audio', async () => {
    client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const presenterEndpoint = await pipeline.create('WebRtcEndpoint');
    const flowing = nextEvent(presenterEndpoint, 'MediaFlowInStateChanged', MEDIA_TIMEOUT_MS);
    await call((cb) => presenterEndpoint.connect(presenterEndpoint, cb));
    const presenter = await peers.open();
    await presenter.negotiate(presenterEndpoint, { send: true, receive: true });
    assert.equal((await flowing).state, 'FLOWING');
    await decoding(presenter, 'the loopback preview');

    const viewers = await Promise.all(
      [1, 2, 3].map(async () => {
        const endpoint = await pipeline.create('WebRtcEndpoint', { sendonly: true });
        await call((cb) => presenterEndpoint.connect(endpoint, cb));
        const page = await peers.open();
        await page.negotiate(endpoint, { send: false, receive: true });
        return { endpoint, page };
      }),
    );
    const first = await Promise.all(viewers.map((v, i) => decoding(v.page, `viewer ${i + 1}`)));
    await Promise.all(viewers.map((v, i) => decoding(v.page, `viewer ${i + 1} (still)`, first[i])));
    assert.equal(await call((cb) => viewers[0]!.endpoint.isMediaFlowingOut('VIDEO', cb)), true);
    await call((cb) => pipeline.release(cb));
  });

  test('a PlayerEndpoint is a source a Chromium viewer decodes, and it ends with EndOfStream', async () => {
    const clip = await makeClip(peers.dir, 'clip.webm', { seconds: 4 });
    client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const player = await pipeline.create('PlayerEndpoint', { uri: `file://${clip}` });
    const endpoint = await pipeline.create('WebRtcEndpoint');
    await call((cb) => player.connect(endpoint, cb));
    const viewer = await peers.open();
    await viewer.negotiate(endpoint, { send: false, receive: true });
    await waitFor(
      'the viewer to connect',
      async () => (await viewer.connectionState()).startsWith('connected'),
      MEDIA_TIMEOUT_MS,
    );
    const ended = nextEvent(player, 'EndOfStream', MEDIA_TIMEOUT_MS);
    await call((cb) => player.play(cb));
    await decoding(viewer, 'the player viewer');
    await ended;
    await call((cb) => pipeline.release(cb));
  });

  test('H.264 from the presenter reaches viewers as H.264 when they accept it', async () => {
    client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const presenterEndpoint = await pipeline.create('WebRtcEndpoint');
    const viewerEndpoint = await pipeline.create('WebRtcEndpoint');
    await call((cb) => presenterEndpoint.connect(viewerEndpoint, cb));
    const presenter = await peers.open();
    await presenter.negotiate(presenterEndpoint, { send: true, receive: false, videoCodec: 'H264' });
    const viewer = await peers.open();
    await viewer.negotiate(viewerEndpoint, { send: false, receive: true });
    const stats = await decoding(viewer, 'the H.264 viewer');
    assert.equal(stats.videoCodec, 'video/H264');
    await call((cb) => pipeline.release(cb));
  });

  test('an endpoint that makes the offer (generateOffer, processAnswer) sends to and receives from Chromium', async () => {
    client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const endpoint = await pipeline.create('WebRtcEndpoint');
    await call((cb) => endpoint.connect(endpoint, cb));
    const page = await peers.open();
    const flowing = nextEvent(endpoint, 'MediaFlowInStateChanged', MEDIA_TIMEOUT_MS);
    await page.answerOfferOf(endpoint, { send: true });
    assert.equal((await flowing).state, 'FLOWING');
    await decoding(page, 'the answering page (loopback)');
    await call((cb) => pipeline.release(cb));
  });

  test('a viewer that closes its peer connection is reported by MediaStateChanged DISCONNECTED', async () => {
    client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const presenterEndpoint = await pipeline.create('WebRtcEndpoint');
    const viewerEndpoint = await pipeline.create('WebRtcEndpoint');
    await call((cb) => presenterEndpoint.connect(viewerEndpoint, cb));
    const [presenter, viewer] = [await peers.open(), await peers.open()];
    await presenter.negotiate(presenterEndpoint, { send: true, receive: false });
    const connected = nextEvent(viewerEndpoint, 'MediaStateChanged', MEDIA_TIMEOUT_MS);
    await viewer.negotiate(viewerEndpoint, { send: false, receive: true });
    assert.equal((await connected).newState, 'CONNECTED');
    const disconnected = nextEvent(viewerEndpoint, 'MediaStateChanged', 60_000);
    await viewer.close();
    assert.equal((await disconnected).newState, 'DISCONNECTED');
    assert.equal(await call((cb) => viewerEndpoint.getMediaState(cb)), 'DISCONNECTED');
    await call((cb) => pipeline.release(cb));
  });

  test('a viewer keeps decoding when its source changes from one presenter to another', async () => {
    client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const [firstEndpoint, secondEndpoint, viewerEndpoint] = await Promise.all([
      pipeline.create('WebRtcEndpoint'),
      pipeline.create('WebRtcEndpoint'),
      pipeline.create('WebRtcEndpoint'),
    ]);
    await call((cb) => firstEndpoint.connect(viewerEndpoint, cb));
    const [first, second, viewer] = [await peers.open(), await peers.open(), await peers.open()];
    await first.negotiate(firstEndpoint, { send: true, receive: false });
    await second.negotiate(secondEndpoint, { send: true, receive: false });
    await viewer.negotiate(viewerEndpoint, { send: false, receive: true });
    const before = await decoding(viewer, 'the viewer of the first presenter');
    await call((cb) => secondEndpoint.connect(viewerEndpoint, cb));
    const sources = await call<any[]>((cb) => viewerEndpoint.getSourceConnections(cb));
    assert.ok(sources.every((c) => c.source === secondEndpoint.id));
    await decoding(viewer, 'the viewer of the second presenter', before, 20);
    await call((cb) => pipeline.release(cb));
  });
});

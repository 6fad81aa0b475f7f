/**
 * Object lifecycle: what a client that went away leaves behind is collected after a grace period,
 * a pipeline another session uses survives, a WebRTC set-up that cannot complete fails loudly and
 * releases itself, and the engine listens on loopback unless told otherwise.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
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
import { RawRpc } from './helpers/RawRpc.js';

const GRACE_MS = 1500;
const SETUP_TIMEOUT_MS = 4000;
const PORTS = [42000, 42999] as const;

describe('object lifecycle', { skip: skipUnless('chromium', 'ffmpeg') }, () => {
  const fixture = useTestEngine({
    env: {
      ENGINE_SESSION_GRACE_MS: String(GRACE_MS),
      ENGINE_SETUP_TIMEOUT_MS: String(SETUP_TIMEOUT_MS),
      ENGINE_RTP_MIN_PORT: String(PORTS[0]),
      ENGINE_RTP_MAX_PORT: String(PORTS[1]),
    },
  });

  afterEach(async () => {
    await assertBackToBaseline(fixture.engine.uri, fixture.baseline, GRACE_MS + 15_000);
  });

  test('the engine listens on loopback by default', () => {
    assert.equal(new URL(fixture.engine.uri).hostname, '127.0.0.1');
    assert.equal(new URL(fixture.engine.uri).pathname, '/kurento');
  });

  test('ICE candidates use the configured UDP port range', async () => {
    const client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const endpoint = await pipeline.create('WebRtcEndpoint');
    const offer = await call<string>((cb) => endpoint.generateOffer(cb));
    const ports = offer
      .split(/\r?\n/)
      .filter((l) => l.startsWith('a=candidate'))
      .map((l) => Number(l.split(' ')[5]));
    assert.ok(ports.length > 0);
    assert.ok(
      ports.every((p) => p >= PORTS[0] && p <= PORTS[1]),
      ports.join(','),
    );
    await call((cb) => pipeline.release(cb));
  });

  test('objects of a client that went away are kept through the grace period, then collected', async () => {
    const client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    await pipeline.create('WebRtcEndpoint');
    client.close();
    await waitFor(
      'the session to lose its connection',
      async () => (await engineStats(fixture.engine.uri)).connections === 0,
    );
    const during = await engineStats(fixture.engine.uri);
    assert.equal(during.pipelines, 1, 'kept during the grace period');
    assert.equal(during.sessions, 1);
    await waitFor(
      'the grace period to end',
      async () => (await engineStats(fixture.engine.uri)).pipelines === 0,
      GRACE_MS + 10_000,
    );
    assert.equal((await engineStats(fixture.engine.uri)).sessions, 0);
  });

  test('a pipeline another session reached survives its creator going away', async () => {
    const creator = await connectClient(fixture.engine.uri);
    const pipeline = await creator.create('MediaPipeline');
    const other = await RawRpc.open(fixture.engine.uri);
    try {
      await other.ok('describe', { object: pipeline.id });
      creator.close();
      await waitFor(
        'the creator session to expire',
        async () => (await engineStats(fixture.engine.uri)).sessions === 1,
        GRACE_MS + 10_000,
      );
      assert.equal((await other.ok('invoke', { object: pipeline.id, operation: 'getName' })).value, pipeline.id);
    } finally {
      await other.close();
    }
  });

  test('a WebRTC set-up that cannot complete fails with an Error event and the endpoint releases itself', async () => {
    const client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const [ghost, endpoint] = await Promise.all([pipeline.create('WebRtcEndpoint'), pipeline.create('WebRtcEndpoint')]);
    const offer = await call<string>((cb) => ghost.generateOffer(cb));
    await call((cb) => ghost.release(cb));
    const failed = nextEvent(endpoint, 'Error', SETUP_TIMEOUT_MS + 10_000);
    await call((cb) => endpoint.processOffer(offer, cb));
    const error = await failed;
    assert.equal(error.errorCode, 40004);
    assert.match(error.description, /set-up|ICE|DTLS/);
    const other = await connectClient(fixture.engine.uri);
    await waitFor('the endpoint to be gone', () =>
      other.getMediaobjectById(endpoint.id).then(
        () => false,
        (err: any) => err.code === 40101,
      ),
    );
    await call((cb) => pipeline.release(cb));
  });
});

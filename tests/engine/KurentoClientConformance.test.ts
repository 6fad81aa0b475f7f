/**
 * The engine as the unmodified kurento-client sees it: objects, ids, describe, events, the
 * ServerManager, transactions, reconnection, several clients, and errors reaching callbacks.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { skipUnless } from '../support/services.js';
import {
  assertBackToBaseline,
  call,
  connectClient,
  engineStats,
  nextEvent,
  startTestEngine,
  useTestEngine,
  waitFor,
} from './helpers/engineHarness.js';
import { TcpProxy } from './helpers/TcpProxy.js';

const PIPELINE_ID = /^[0-9a-f-]{36}_kurento\.MediaPipeline$/;
const ELEMENT_ID = (pipelineId: string, type: string) =>
  new RegExp(`^${pipelineId.replace(/[.]/g, '\\.')}/[0-9a-f-]{36}_kurento\\.${type}$`);

describe('the engine driven by kurento-client', { skip: skipUnless('chromium', 'ffmpeg') }, () => {
  const fixture = useTestEngine();
  afterEach(async () => {
    await assertBackToBaseline(fixture.engine.uri, fixture.baseline);
  });

  test('creates a pipeline and its elements with Kurento ids, and describes them', async () => {
    const client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    assert.match(pipeline.id, PIPELINE_ID);
    const webRtc = await pipeline.create('WebRtcEndpoint');
    const passThrough = await pipeline.create('PassThrough');
    assert.match(webRtc.id, ELEMENT_ID(pipeline.id, 'WebRtcEndpoint'));
    assert.match(passThrough.id, ELEMENT_ID(pipeline.id, 'PassThrough'));
    assert.deepEqual(
      (await call<any[]>((cb) => pipeline.getChildren(cb))).map((c) => c.id).sort(),
      [webRtc.id, passThrough.id].sort(),
    );
    assert.equal((await call<any>((cb) => webRtc.getMediaPipeline(cb))).id, pipeline.id);
    await call((cb) => webRtc.setName('presenter', cb));
    assert.equal(await call((cb) => webRtc.getName(cb)), 'presenter');
    await call((cb) => pipeline.release(cb));
  });

  test('the ServerManager reports its modules, pipelines, sessions and memory', async () => {
    const client = await connectClient(fixture.engine.uri);
    const manager = await client.getServerManager();
    const info = await call<any>((cb) => manager.getInfo(cb));
    assert.deepEqual(info.modules.map((m: any) => m.name).sort(), ['core', 'elements', 'filters']);
    const pipeline = await client.create('MediaPipeline');
    const pipelines = await call<any[]>((cb) => manager.getPipelines(cb));
    assert.deepEqual(
      pipelines.map((p) => p.id),
      [pipeline.id],
    );
    assert.equal((await call<string[]>((cb) => manager.getSessions(cb))).length, 1);
    assert.ok((await call<number>((cb) => manager.getUsedMemory(cb))) > 0);
    await call((cb) => pipeline.release(cb));
  });

  test('events reach the subscriber: connecting elements emits ElementConnected for each media type', async () => {
    const client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const [source, sink] = await Promise.all([pipeline.create('PassThrough'), pipeline.create('PassThrough')]);
    const types: string[] = [];
    source.on('ElementConnected', (event: any) => types.push(event.mediaType));
    await call((cb) => source.connect(sink, cb));
    await waitFor('ElementConnected events', () => types.length === 2);
    assert.deepEqual(types.sort(), ['AUDIO', 'VIDEO']);
    const sinks = await call<any[]>((cb) => source.getSinkConnections(cb));
    assert.ok(sinks.every((c) => c.sink === sink.id && c.source === source.id));
    await call((cb) => pipeline.release(cb));
  });

  test('a second client reaches objects by id and receives their events', async () => {
    const first = await connectClient(fixture.engine.uri);
    const second = await connectClient(fixture.engine.uri);
    const pipeline = await first.create('MediaPipeline');
    const [source, sink] = await Promise.all([pipeline.create('PassThrough'), pipeline.create('PassThrough')]);
    const seen = await second.getMediaobjectById(source.id);
    assert.equal(seen.id, source.id);
    assert.equal(seen.constructor.name, 'PassThrough');
    const connected = nextEvent(seen, 'ElementConnected');
    await call((cb) => source.connect(sink, 'VIDEO', cb));
    assert.equal((await connected).sink, sink.id);
    await assert.rejects(
      second.getMediaobjectById(`${pipeline.id}/nope_kurento.PassThrough`),
      (err: any) => err.code === 40101,
    );
    await call((cb) => pipeline.release(cb));
  });

  test('release followed by unsubscribe never fails and the client keeps working', async () => {
    const client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const webRtc = await pipeline.create('WebRtcEndpoint');
    webRtc.on('IceCandidateFound', () => undefined);
    webRtc.on('MediaFlowInStateChanged', () => undefined);
    await call((cb) => webRtc.release(cb));
    // A failing unsubscribe would make the client emit 'error' on the object: an uncaught exception here.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const next = await client.create('MediaPipeline');
    assert.match(next.id, PIPELINE_ID);
    await call((cb) => next.release(cb));
    await call((cb) => pipeline.release(cb));
  });

  test('releasing a pipeline releases its elements', async () => {
    const client = await connectClient(fixture.engine.uri);
    const other = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const webRtc = await pipeline.create('WebRtcEndpoint');
    await call((cb) => pipeline.release(cb));
    await assert.rejects(other.getMediaobjectById(webRtc.id), (err: any) => err.code === 40101);
    assert.equal((await engineStats(fixture.engine.uri)).objects, 0);
  });

  test('implicit transactions batch creations and invocations', async () => {
    const client = await connectClient(fixture.engine.uri, { useImplicitTransactions: true });
    const pipeline = await client.create('MediaPipeline');
    const [a, b] = await Promise.all([pipeline.create('PassThrough'), pipeline.create('PassThrough')]);
    await Promise.all([call((cb) => a.connect(b, cb)), call((cb) => a.setName('a', cb))]);
    assert.equal(await call((cb) => a.getName(cb)), 'a');
    assert.equal((await call<any[]>((cb) => b.getSourceConnections(cb))).length, 2);
    await call((cb) => pipeline.release(cb));
  });

  test('errors reach callbacks with Kurento codes', async () => {
    const client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    await assert.rejects(
      pipeline.create('Composite'),
      (err: any) => err instanceof TypeError && (err as any).code === 40100,
    );
    const webRtc = await pipeline.create('WebRtcEndpoint');
    await assert.rejects(
      call((cb) => webRtc.processOffer('not an sdp', cb)),
      (err: any) => err.code === 40201,
    );
    await assert.rejects(
      call((cb) => webRtc.processAnswer('v=0\r\n', cb)),
      (err: any) => err.code === 40201,
    );
    await assert.rejects(
      pipeline.create('RecorderEndpoint', { uri: 'http://example.com/x.webm' }),
      (err: any) => err.code === 40107 && /only file:\/\//.test(err.message),
    );
    await assert.rejects(
      pipeline.create('RecorderEndpoint', { uri: 'file:///tmp/x.mp4', mediaProfile: 'MP4' }),
      (err: any) => err.code === 40107 && /WEBM/.test(err.message),
    );
    await call((cb) => webRtc.release(cb));
    await assert.rejects(
      call((cb) => webRtc.gatherCandidates(cb)),
      (err: any) => err instanceof ReferenceError && (err as any).code === 40101,
    );
    await call((cb) => pipeline.release(cb));
  });

  test('a recorder reports its URI and state changes: Recording, Paused, Stopped', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'onair-engine-conf-'));
    try {
      const client = await connectClient(fixture.engine.uri);
      const pipeline = await client.create('MediaPipeline');
      const uri = `file://${dir}/empty.webm`;
      const recorder = await pipeline.create('RecorderEndpoint', { uri, mediaProfile: 'WEBM_AUDIO_ONLY' });
      assert.equal(await call((cb) => recorder.getUri(cb)), uri);
      const states: string[] = [];
      recorder.on('UriEndpointStateChanged', (event: any) => states.push(event.state));
      const recording = nextEvent(recorder, 'Recording');
      await call((cb) => recorder.record(cb));
      await recording;
      const paused = nextEvent(recorder, 'Paused');
      await call((cb) => recorder.pause(cb));
      await paused;
      const stopped = nextEvent(recorder, 'Stopped');
      await call((cb) => recorder.stopAndWait(cb));
      await stopped;
      assert.deepEqual(states, ['START', 'PAUSE', 'STOP']);
      await call((cb) => pipeline.release(cb));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a player on a missing file fails play() with a clear error and an Error event', async () => {
    const client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const player = await pipeline.create('PlayerEndpoint', { uri: 'file:///nonexistent/clip.webm' });
    const error = nextEvent(player, 'Error');
    await assert.rejects(
      call((cb) => player.play(cb)),
      (err: any) => err.code === 40107 && /no such file/.test(err.message),
    );
    assert.match((await error).description, /no such file/);
    await call((cb) => pipeline.release(cb));
  });

  test('reconnected(true) after the connection drops: same session, same objects', async () => {
    const proxy = await TcpProxy.start(fixture.engine.uri);
    const client = await connectClient(proxy.uri);
    const pipeline = await client.create('MediaPipeline');
    await call((cb) => pipeline.setName('kept', cb));
    const sessionId = client.sessionId;
    const reconnected = nextEvent<boolean>(client, 'reconnected');
    proxy.cut();
    assert.equal(await reconnected, true);
    assert.equal(client.sessionId, sessionId);
    assert.equal(await call((cb) => pipeline.getName(cb)), 'kept');
    await call((cb) => pipeline.release(cb));
    await proxy.close();
  });

  test('reconnected(false) after the engine restarts: the old session is gone', async () => {
    const first = await startTestEngine();
    const proxy = await TcpProxy.start(first.uri);
    const client = await connectClient(proxy.uri);
    const pipeline = await client.create('MediaPipeline');
    const second = await startTestEngine({ env: { ENGINE_SECRET: first.secret } });
    try {
      // Reconnection attempts go to the new engine; the old one shuts down (clean close frames).
      proxy.retarget(second.uri);
      const reconnected = nextEvent<boolean>(client, 'reconnected');
      await first.stop();
      proxy.cut();
      assert.equal(await reconnected, false);
      await assert.rejects(
        call((cb) => pipeline.getName(cb)),
        (err: any) => err.code === 40101,
      );
      const fresh = await client.create('MediaPipeline');
      assert.match(fresh.id, PIPELINE_ID);
      client.close();
      await waitFor(
        'the restarted engine to collect the session',
        async () => (await engineStats(second.uri)).pipelines === 0,
      );
    } finally {
      await proxy.close();
      await second.stop();
      await first.stop();
    }
  });
});

/**
 * One live on every media worker: the presenter's endpoint and the recorder stay in the pipeline's home worker,
 * viewers spread over both workers, and the presenter's media reach the other worker once, through a relay. Every
 * viewer decodes in Chromium, the recording is one whole file, and a killed worker ends only its own viewers, who
 * can join again (on a worker that is alive).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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
  type KurentoClient,
} from './helpers/engineHarness.js';
import { PeerPage, usePeerPages } from './helpers/peerPage.js';
import { decode, probeFile } from './helpers/webmFiles.js';

const VIEWERS = 5;
const RECORD_SECONDS = 6;

interface HostFigures {
  name: string;
  pid: number;
  pipelines: number;
  webRtcEndpoints: number;
  relaySinks: number;
  relaySources: number;
  relayedIn: number;
}

describe('one live served by every media worker', { skip: skipUnless('chromium', 'ffmpeg') }, () => {
  const fixture = useTestEngine({ workers: 2 });
  const peers = usePeerPages('onair-engine-relay-');

  afterEach(async () => {
    await assertBackToBaseline(fixture.engine.uri, fixture.baseline);
  });

  const hosts = async () => (await engineStats(fixture.engine.uri)).hosts as unknown as HostFigures[];

  /** A presenter page into a new pipeline, its endpoint connected to a recorder writing `file`. */
  const present = async (client: KurentoClient, file: string) => {
    const pipeline = await client.create('MediaPipeline');
    const presenter = await pipeline.create('WebRtcEndpoint');
    const recorder = await pipeline.create('RecorderEndpoint', { uri: `file://${file}`, mediaProfile: 'WEBM' });
    await call((cb) => presenter.connect(recorder, cb));
    const page = await peers.open();
    const flowing = nextEvent(presenter, 'MediaFlowInStateChanged', 30_000);
    await page.negotiate(presenter, { send: true, receive: false });
    await flowing;
    return { pipeline, presenter, recorder };
  };

  /** A viewer page fed by `presenter`, as the API joins one (connect, then the page's offer). */
  const watch = async (pipeline: any, presenter: any) => {
    const endpoint = await pipeline.create('WebRtcEndpoint', { sendonly: true });
    await call((cb) => presenter.connect(endpoint, cb));
    const page = await peers.open();
    await page.negotiate(endpoint, { send: false, receive: true });
    return { endpoint, page };
  };

  /** Waits until the page has decoded `more` frames past what it had. */
  const decodes = async (page: PeerPage, what: string, more = 15) => {
    const start = (await page.stats()).framesDecoded;
    await waitFor(what, async () => (await page.stats()).framesDecoded >= start + more, 30_000, 250);
  };

  test('viewers on both workers all decode, the presenter is relayed once, the recording is one whole file', async () => {
    const client = await connectClient(fixture.engine.uri);
    const file = path.join(peers.dir, 'relayed.webm');
    const { pipeline, presenter, recorder } = await present(client, file);
    const connected: string[] = [];
    presenter.on('ElementConnected', (event: { sink: string }) => connected.push(event.sink));
    const recording = nextEvent(recorder, 'Recording');
    await call((cb) => recorder.record(cb));
    const startedAt = Date.now();
    await recording;

    // Viewers joining at the same moment (one relay is made, once, for all those of the other worker).
    const viewers = await Promise.all(Array.from({ length: VIEWERS }, () => watch(pipeline, presenter)));
    // Chromium sends a keyframe only when asked: the other worker's viewers decode because their keyframe requests
    // reached the presenter through the relay.
    for (const [i, viewer] of viewers.entries()) await decodes(viewer.page, `viewer ${i + 1} decoding`);

    const figures = await hosts();
    const home = figures.find((h) => h.relaySinks > 0);
    const other = figures.find((h) => h.relaySources > 0);
    assert.ok(
      home && other && home !== other,
      `one relay from the home worker to the other: ${JSON.stringify(figures)}`,
    );
    assert.equal(home.relaySinks, 1, 'the presenter reaches the other worker once, whatever its viewers');
    assert.equal(other.relaySources, 1);
    assert.ok(other.relayedIn > 0, 'media went through the relay');
    assert.ok(home.webRtcEndpoints >= 2, 'the home worker serves the presenter and viewers');
    assert.ok(other.webRtcEndpoints >= 2, 'the other worker serves viewers of the same live');
    assert.equal(home.webRtcEndpoints + other.webRtcEndpoints, 1 + VIEWERS);
    // The client sees the protocol as from one process: every viewer is a sink of the presenter, no relay is.
    assert.deepEqual([...connected].sort(), [...viewers.flatMap((v) => [v.endpoint.id, v.endpoint.id])].sort());
    const children = await call<({ id: string } | string)[]>((cb) => pipeline.getChildren(cb));
    assert.deepEqual(
      children.map((c) => (typeof c === 'string' ? c : c.id)).sort(),
      [presenter.id, recorder.id, ...viewers.map((v) => v.endpoint.id)].sort(),
      'the pipeline lists its elements of both workers',
    );
    const sinks = await call<any[]>((cb) => presenter.getSinkConnections(cb));
    assert.deepEqual(
      [...new Set(sinks.map((c) => c.sink))].sort(),
      [recorder.id, ...viewers.map((v) => v.endpoint.id)].sort(),
    );

    await sleep(Math.max(0, RECORD_SECONDS * 1000 - (Date.now() - startedAt)));
    const stopped = nextEvent(recorder, 'Stopped');
    const stoppingAt = Date.now();
    await call((cb) => recorder.stopAndWait(cb));
    await stopped;
    const probed = await probeFile(file);
    assert.deepEqual(probed.codecs, ['opus', 'vp8']);
    const wallSeconds = (stoppingAt - startedAt) / 1000;
    assert.ok(Math.abs(probed.duration - wallSeconds) <= 1, `file lasts ${probed.duration} s for ${wallSeconds} s`);
    const { code, errors } = await decode(file);
    assert.equal(code, 0, errors);

    // The last viewer of the other worker gone, its relay goes too.
    for (const viewer of viewers) await call((cb) => viewer.endpoint.release(cb));
    await waitFor('the relay released with its last viewer', async () =>
      (await hosts()).every((h) => h.relaySinks === 0 && h.relaySources === 0),
    );
    await call((cb) => pipeline.release(cb));
  });

  test("a viewer's bitrate limit on the other worker reaches the presenter through the relay (REMB)", async () => {
    const client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const presenter = await pipeline.create('WebRtcEndpoint');
    const home = await pipeline.create('WebRtcEndpoint', { sendonly: true });
    const remote = await pipeline.create('WebRtcEndpoint', { sendonly: true });
    const figures = await hosts();
    assert.deepEqual(
      figures.map((h) => h.webRtcEndpoints).sort(),
      [1, 2],
      `the third endpoint on the other worker: ${JSON.stringify(figures)}`,
    );
    await call((cb) => remote.setMaxVideoSendBandwidth(120, cb));
    await call((cb) => presenter.connect(home, cb));
    await call((cb) => presenter.connect(remote, cb));
    const page = await peers.open();
    await page.negotiate(presenter, { send: true, receive: false });
    for (const endpoint of [home, remote]) {
      const viewer = await peers.open();
      await viewer.negotiate(endpoint, { send: false, receive: true });
    }
    await waitFor(
      "the presenter's send estimate brought down to the remote viewer's 120 kbps",
      async () => {
        const estimate = await page.outgoingBitrate();
        return estimate > 0 && estimate <= 120_000 * 1.05;
      },
      40_000,
      250,
    );
    await call((cb) => pipeline.release(cb));
  });

  test('a killed worker ends only its own viewers, who are told and join again on a live worker', async () => {
    const client = await connectClient(fixture.engine.uri);
    const { pipeline, presenter } = await present(client, path.join(peers.dir, 'killed.webm'));
    const viewers = [];
    for (let i = 0; i < 4; i++) viewers.push(await watch(pipeline, presenter));
    for (const [i, viewer] of viewers.entries()) await decodes(viewer.page, `viewer ${i + 1} decoding`);
    const figures = await hosts();
    const victim = figures.find((h) => h.relaySources > 0);
    assert.ok(victim && victim.webRtcEndpoints > 0, `viewers on the second worker: ${JSON.stringify(figures)}`);

    const destroyed = new Set<string>();
    const manager = await call<any>((cb) => client.getServerManager(cb));
    manager.on('ObjectDestroyed', (event: { objectId?: string; object?: string }) =>
      destroyed.add(event.objectId ?? event.object ?? ''),
    );
    const errors = new Map<string, string>();
    for (const viewer of viewers)
      viewer.endpoint.on('Error', (e: { type: string }) => errors.set(viewer.endpoint.id, e.type));
    let pipelineError = false;
    pipeline.on('Error', () => (pipelineError = true));
    await sleep(300); // kurento-client subscribes in the background
    process.kill(victim.pid, 'SIGKILL');

    await waitFor('the lost viewers reported', () => errors.size === victim.webRtcEndpoints);
    const lost = viewers.filter((v) => errors.has(v.endpoint.id));
    const kept = viewers.filter((v) => !errors.has(v.endpoint.id));
    assert.ok(lost.length > 0 && kept.length > 0, 'some viewers lost, some kept');
    for (const viewer of lost) assert.equal(errors.get(viewer.endpoint.id), 'MEDIA_OBJECT_NOT_AVAILABLE');
    await waitFor('their endpoints released', () => lost.every((v) => destroyed.has(v.endpoint.id)));
    for (const viewer of lost) {
      await assert.rejects(
        call((cb) => viewer.endpoint.getName(cb)),
        (err: any) => err.code === 40101,
      );
    }
    assert.equal(pipelineError, false, 'the live goes on');
    assert.equal(await call((cb) => presenter.getName(cb)), presenter.id);
    for (const viewer of kept) await decodes(viewer.page, 'a viewer of the surviving worker still decoding');

    // The lost viewers join again: new endpoints, on a worker that is alive, decoding.
    for (const viewer of lost) await viewer.page.close();
    const rejoined = [];
    for (let i = 0; i < lost.length; i++) rejoined.push(await watch(pipeline, presenter));
    for (const viewer of rejoined) await decodes(viewer.page, 'a viewer that joined again decoding');
    const alive = (await hosts()).map((h) => h.pid);
    assert.ok(!alive.includes(victim.pid));
    await call((cb) => pipeline.release(cb));
    await waitFor('a replacement worker', async () => (await hosts()).length === 2);
  });
});

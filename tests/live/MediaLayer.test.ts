import assert from 'node:assert/strict';
import { readdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import {
  connectKurento,
  createElement,
  createPipeline,
  invoke,
  listChildren,
  release,
  type KurentoClient,
} from '../../media/kurento.js';
import { PIPELINE_TAGS } from '../../media/MediaServer.js';
import { launchBrowser, newContext } from '../../drivers/browser.js';
import { openHarness, type Harness } from '../../drivers/harness.js';
import { registerUser } from '../../drivers/http.js';
import { pipelineCount, probe } from '../support/media.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { skipUnless } from '../support/services.js';
import { waitFor } from '../../drivers/wait.js';

describe('the media layer on the media server', { skip: skipUnless('chromium', 'ffmpeg', 'mariadb') }, () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Harness;
  /** A second, unrelated client of the same media server: what an operator, a crash or another app does. */
  let raw: KurentoClient;
  let baseline: number;

  before(async () => {
    server = await startTestServer({ env: { VIDEO_MIN_KBPS: '350', VIDEO_MAX_KBPS: '1800' }, server: { media: {} } });
    browser = await launchBrowser();
    context = await newContext(browser);
    page = await openHarness(context, server.url);
    ({ client: raw } = await connectKurento(server.server.services.media!.engine!.uri));
    baseline = await pipelineCount(server);
  });

  after(async () => {
    raw?.close();
    await context?.close();
    await browser?.close();
    await server?.close();
  });

  const media = () => server.server.services.media!.server;
  const byId = (id: string) => raw.getMediaobjectById(id);
  const recordingsDir = () => server.config.recordingsDir;

  test('every endpoint gets the configured video bandwidth bounds', async () => {
    const presenter = await registerUser(server.url);
    const viewer = await registerUser(server.url);
    const started = await page.present('bw', presenter.token, 'Bandwidth');
    assert.ok(started.ok, JSON.stringify(started));
    assert.ok((await page.watch('bw-v', viewer.token, started.liveId)).ok);
    const live = media().live(started.liveId)!;
    const presenterEndpoint = await byId(live.presenterEndpointId!);
    assert.equal(await invoke(presenterEndpoint, 'getMaxVideoRecvBandwidth'), 1800);
    assert.equal(await invoke(presenterEndpoint, 'getMinVideoSendBandwidth'), 350);
    assert.equal(await invoke(presenterEndpoint, 'getMaxVideoSendBandwidth'), 1800);
    const viewers = (await listChildren(await byId(live.pipelineId))).filter(
      (id) => id.endsWith('WebRtcEndpoint') && id !== live.presenterEndpointId,
    );
    assert.equal(viewers.length, 1);
    const viewerEndpoint = await byId(viewers[0]!);
    assert.equal(await invoke(viewerEndpoint, 'getMinVideoSendBandwidth'), 350);
    assert.equal(await invoke(viewerEndpoint, 'getMaxVideoSendBandwidth'), 1800);
    assert.ok((await page.stop('bw')).ok);
  });

  for (const kind of ['video', 'audio'] as const) {
    test(`a ${kind}-only presenter is recorded with the ${kind} it sends`, async () => {
      const presenter = await registerUser(server.url);
      const key = `${kind}-only`;
      const started = await page.present(key, presenter.token, `${kind} only`, { media: kind });
      assert.ok(started.ok, JSON.stringify(started));
      assert.equal(
        media().live(started.liveId)?.recordingProfile,
        kind === 'video' ? 'WEBM_VIDEO_ONLY' : 'WEBM_AUDIO_ONLY',
      );
      if (kind === 'video')
        await waitFor(async () => (await page.stats(key)).framesDecoded > 0, 'the preview', { timeoutMs: 30_000 });
      else await waitFor(async () => (await page.stats(key)).audioBytes > 0, 'the audio back', { timeoutMs: 30_000 });
      await new Promise((r) => setTimeout(r, 2000));
      const stopped = await page.stop(key);
      assert.ok(stopped.ok && typeof stopped.recordingId === 'number', JSON.stringify(stopped));
      const recording = await server.server.db.Recording.findByPk(stopped.recordingId);
      assert.equal(recording?.status, 'ready');
      const probed = await probe(path.join(recordingsDir(), recording.fileName));
      assert.deepEqual(probed.codecs, kind === 'video' ? ['vp8'] : ['opus']);
      assert.ok(probed.durationS > 1, `duration ${probed.durationS}`);
    });
  }

  test('a recorder that cannot write tells the presenter, and the recording is not kept as ready', async () => {
    const presenter = await registerUser(server.url);
    const presenting = page.present('broken', presenter.token, 'Disk full', { hold: true });
    const liveId = await waitFor(() => page.reserved('broken'), 'the live to be reserved');
    // Every write of the recorder fails (ENOSPC), long after it opened its file.
    await symlink('/dev/full', path.join(recordingsDir(), `${liveId}.webm`));
    await page.proceed('broken');
    const started = await presenting;
    assert.ok(started.ok, JSON.stringify(started));
    const failed = await waitFor(
      async () => (await page.events('broken')).find(([e]) => e === 'live:recordingFailed'),
      'the presenter told that the recording failed',
      { timeoutMs: 30_000 },
    );
    assert.deepEqual(failed[1], { liveId });
    assert.ok(media().live(liveId), 'the live goes on');
    const stopped = await page.stop('broken');
    assert.ok(stopped.ok);
    const recording = await server.server.db.Recording.findOne({ where: { liveId } });
    // Nothing could be written at all: `failed` (a recorder failing after some writes leaves it `incomplete`).
    assert.ok(recording && recording.status !== 'ready', `status ${recording?.status}`);
    assert.equal(recording.status, 'failed');
  });

  test("a live whose pipeline is released behind the API's back ends for everyone", async () => {
    const presenter = await registerUser(server.url);
    const viewer = await registerUser(server.url);
    const started = await page.present('ghost', presenter.token, 'Ghost');
    assert.ok(started.ok, JSON.stringify(started));
    assert.ok((await page.watch('ghost-v', viewer.token, started.liveId)).ok);
    const live = media().live(started.liveId)!;
    assert.equal((await presenter.client.get('/api/lives')).body.lives.length, 1);

    assert.equal(await release(await byId(live.pipelineId)), undefined);
    for (const key of ['ghost', 'ghost-v']) {
      const ended = await waitFor(
        async () => (await page.events(key)).find(([e]) => e === 'live:ended'),
        `${key} told the live ended`,
        { timeoutMs: 20_000 },
      );
      assert.equal(ended[1].reason, 'failed');
    }
    assert.deepEqual((await presenter.client.get('/api/lives')).body.lives, [], 'it left "Live now"');
    assert.equal(media().live(started.liveId), undefined);
    const row = await waitFor(async () => {
      const r = await server.server.db.Live.findByPk(started.liveId);
      return r?.status === 'live' ? null : r;
    }, 'the live row to end');
    assert.equal(row.endReason, 'failed');
    // The presenter may go live again at once (the one-live lock is free).
    const again = await page.present('ghost2', presenter.token, 'Back');
    assert.ok(again.ok, JSON.stringify(again));
    assert.ok((await page.stop('ghost2')).ok);
  });

  test("a viewer whose endpoint is released behind the API's back is counted out", async () => {
    const presenter = await registerUser(server.url);
    const viewers = [await registerUser(server.url), await registerUser(server.url)];
    const started = await page.present('vg', presenter.token, 'Viewer ghost');
    assert.ok(started.ok, JSON.stringify(started));
    for (const [i, v] of viewers.entries()) assert.ok((await page.watch(`vg-${i}`, v.token, started.liveId)).ok);
    await waitFor(
      async () => (await presenter.client.get('/api/lives')).body.lives[0]?.viewerCount === 2,
      'two viewers counted',
    );
    const live = media().live(started.liveId)!;
    const viewerIds = (await listChildren(await byId(live.pipelineId))).filter(
      (id) => id.endsWith('WebRtcEndpoint') && id !== live.presenterEndpointId,
    );
    assert.equal(viewerIds.length, 2);
    assert.equal(await release(await byId(viewerIds[0]!)), undefined);

    const left = await waitFor(
      async () => (await page.events('vg')).find(([e]) => e === 'live:viewerLeft'),
      'the presenter told a viewer left',
      { timeoutMs: 20_000 },
    );
    assert.equal(left[1].viewerCount, 1);
    assert.equal((await presenter.client.get('/api/lives')).body.lives[0]?.viewerCount, 1);
    assert.equal(live.viewerCount, 1);
    assert.ok(!live.closed, 'the live goes on');
    assert.ok((await page.stop('vg')).ok);
  });

  test("orphan pipelines of this deployment are released, recorders stopped first; other applications' are not", async () => {
    const uri = (name: string) => `file://${path.join(recordingsDir(), name)}`;
    const orphan = await createPipeline(raw);
    await invoke(orphan, 'addTag', PIPELINE_TAGS.deployment, server.config.storePrefix);
    await invoke(orphan, 'addTag', PIPELINE_TAGS.live, 'deadlive0001');
    const recorder = await createElement(orphan, 'RecorderEndpoint', { uri: uri('orphan.webm') });
    await invoke(recorder, 'record');
    const foreign = await createPipeline(raw);
    const otherDeployment = await createPipeline(raw);
    await invoke(otherDeployment, 'addTag', PIPELINE_TAGS.deployment, 'someone-else:');
    await invoke(otherDeployment, 'addTag', PIPELINE_TAGS.live, 'deadlive0002');
    // A live on air keeps its pipeline.
    const presenter = await registerUser(server.url);
    const onAir = await page.present('kept', presenter.token, 'On air');
    assert.ok(onAir.ok);
    try {
      const released = await media().releaseOrphans();
      assert.deepEqual(released, [{ pipelineId: orphan.id, liveId: 'deadlive0001' }]);
      const left = await media().pipelineIds();
      assert.ok(!left.includes(orphan.id));
      assert.ok(left.includes(foreign.id) && left.includes(otherDeployment.id));
      assert.ok(left.includes(media().live(onAir.liveId)!.pipelineId));
      // The recorder was stopped before the release: its file is finalised (readable, with a duration).
      assert.ok((await readdir(recordingsDir())).includes('orphan.webm'));
    } finally {
      await release(foreign);
      await release(otherDeployment);
      assert.ok((await page.stop('kept')).ok);
    }
  });

  test('a presenter who drops right after sending the offer leaves no recording file', async () => {
    const presenter = await registerUser(server.url);
    const before = new Set(await readdir(recordingsDir()));
    const started = await page.present('dropper', presenter.token, 'Gone at once', { dropAfterOffer: true });
    assert.ok(started.ok);
    await waitFor(async () => (await pipelineCount(server)) === baseline, 'the pipeline released', {
      timeoutMs: 20_000,
    });
    await waitFor(async () => media().live(started.liveId) === undefined, 'the live forgotten');
    await new Promise((r) => setTimeout(r, 500));
    // Only this live's files count: earlier recordings' posters may still be written by the finaliser.
    const added = (await readdir(recordingsDir())).filter((f) => !before.has(f) && f.startsWith(started.liveId));
    assert.deepEqual(added, [], 'no file left behind');
    assert.equal(await server.server.db.Recording.count({ where: { liveId: started.liveId } }), 0);
  });

  test('no pipeline is left', async () => {
    await waitFor(async () => (await pipelineCount(server)) === baseline, 'no pipeline left');
  });
});

/**
 * An API process killed with SIGKILL, next to a surviving one on the same Redis, database and media server: the
 * survivor takes over what the dead process held (its viewers, its lives, their media objects and recordings).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import type { RecordingView } from '../../api/contract/rest.js';
import { connectKurento, listChildren, type KurentoClient } from '../../media/kurento.js';
import { startChildServer, type ChildServer } from '../calls/helpers/childServer.js';
import { launchBrowser, newContext } from '../../drivers/browser.js';
import { openHarness } from '../../drivers/harness.js';
import { registerUser } from '../../drivers/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { skipUnless } from '../support/services.js';
import { waitFor } from '../../drivers/wait.js';

/** The killed process's heart-beat; it is dead three beats after its last one. */
const BEAT_MS = 500;
const CLUSTER = { heartbeatMs: BEAT_MS, instanceTtlMs: BEAT_MS * 3 };

const media = (server: TestServer) => server.server.services.media!.server;

/** The children of a pipeline on the media server, or null when the pipeline is gone. */
async function childrenOf(client: KurentoClient, pipelineId: string): Promise<string[] | null> {
  try {
    return await listChildren(await client.getMediaobjectById(pipelineId));
  } catch {
    return null;
  }
}

describe('an API process killed with SIGKILL', { skip: skipUnless('chromium', 'ffmpeg', 'mariadb', 'redis') }, () => {
  let first: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let kurento: KurentoClient;
  const children: ChildServer[] = [];

  before(async () => {
    first = await startTestServer({ store: 'redis', server: { media: {}, cluster: CLUSTER } });
    browser = await launchBrowser();
    context = await newContext(browser);
    ({ client: kurento } = await connectKurento(media(first).uri));
  });

  after(async () => {
    kurento?.close();
    for (const child of children) await child.kill();
    await context?.close();
    await browser?.close();
    await first?.close();
  });

  function startChild(): Promise<ChildServer> {
    return startChildServer(first, BEAT_MS, {
      KMS_URI: first.server.services.media!.engine!.uri,
      ONAIR_TEST_MEDIA: '1',
    }).then((child) => {
      children.push(child);
      return child;
    });
  }

  test("the viewer's process dies: the presenter hears the viewer leave, the count drops, the endpoint is released", async () => {
    const baseline = (await media(first).pipelineIds()).length;
    const child = await startChild();
    const presenter = await registerUser(first.url);
    const viewer = await registerUser(first.url);
    const stayer = await registerUser(first.url);
    const here = await openHarness(context, first.url);
    const there = await openHarness(context, child.url);

    const started = await here.present('p', presenter.token, 'Viewer process dies');
    assert.ok(started.ok, JSON.stringify(started));
    const liveId = started.liveId;
    // One viewer on each process.
    assert.ok((await there.watch('v', viewer.token, liveId)).ok);
    assert.ok((await here.watch('s', stayer.token, liveId)).ok);
    await waitFor(async () => (await there.stats('v')).framesDecoded > 0, 'the doomed viewer to decode frames', {
      timeoutMs: 30_000,
    });
    await waitFor(
      async () => (await here.events('p')).filter(([e]) => e === 'live:viewerJoined').length === 2,
      'both joins at the presenter',
    );
    assert.equal((await presenter.client.get(`/api/lives/${liveId}`)).body.live.viewerCount, 2);
    const [held] = await first.server.services.lives.registry.viewersOf(liveId, child.instanceId);
    assert.ok(held?.endpointId, 'the store knows the endpoint of the viewer on the child process');
    const pipelineId = media(first).live(liveId)!.pipelineId;
    assert.ok((await childrenOf(kurento, pipelineId))?.includes(held.endpointId));

    await child.kill();
    const left = await waitFor(
      async () => (await here.events('p')).find(([e]) => e === 'live:viewerLeft'),
      'live:viewerLeft at the presenter',
    );
    assert.equal(left[1].viewer.id, viewer.user.id);
    assert.equal(left[1].viewerCount, 1);
    assert.equal((await presenter.client.get(`/api/lives/${liveId}`)).body.live.viewerCount, 1);
    const remaining = await childrenOf(kurento, pipelineId);
    assert.ok(remaining && !remaining.includes(held.endpointId), "the dead process's viewer endpoint is released");
    assert.deepEqual(await first.server.services.lives.registry.viewersOf(liveId, child.instanceId), []);
    assert.ok((await here.stats('s')).framesDecoded > 0, 'the viewer on the surviving process still watches');

    // The viewer comes back through the surviving process: counted once.
    const back = await openHarness(context, first.url);
    assert.ok((await back.watch('v2', viewer.token, liveId)).ok);
    await waitFor(
      async () => (await here.events('p')).filter(([e]) => e === 'live:viewerJoined').length === 3,
      'the rejoin at the presenter',
    );
    assert.equal((await presenter.client.get(`/api/lives/${liveId}`)).body.live.viewerCount, 2);

    assert.ok((await here.stop('p')).ok);
    await waitFor(async () => (await media(first).pipelineIds()).length === baseline, 'the pipeline released');
    await Promise.all([here.page.close(), there.page.close(), back.page.close()]);
  });

  test("the presenter's process dies: viewers elsewhere hear live:ended (presenterLost), the live and its pipeline go, the recording is in the library", async () => {
    const baseline = (await media(first).pipelineIds()).length;
    const child = await startChild();
    const presenter = await registerUser(first.url);
    const viewer = await registerUser(first.url);
    const there = await openHarness(context, child.url);
    const here = await openHarness(context, first.url);

    const started = await there.present('p', presenter.token, 'Presenter process dies');
    assert.ok(started.ok, JSON.stringify(started));
    const liveId = started.liveId;
    assert.ok((await here.watch('v', viewer.token, liveId)).ok);
    await waitFor(async () => (await here.stats('v')).framesDecoded > 0, 'the viewer to decode frames', {
      timeoutMs: 30_000,
    });
    const entry = await first.server.services.lives.registry.get(liveId);
    assert.ok(entry?.pipelineId);
    assert.ok(await childrenOf(kurento, entry.pipelineId), 'the pipeline is on the media server');
    // Let the recorder write something worth keeping.
    await waitFor(async () => (await here.stats('v')).framesDecoded > 60, 'two seconds of video', {
      timeoutMs: 30_000,
    });

    const killedAt = Date.now();
    await child.kill();
    const ended = await waitFor(
      async () => (await here.events('v')).find(([e]) => e === 'live:ended'),
      'live:ended at the viewer on the surviving process',
    );
    assert.equal(ended[1].reason, 'presenterLost');
    assert.equal(typeof ended[1].recordingId, 'number');
    assert.deepEqual((await viewer.client.get('/api/lives')).body.lives, [], 'the live left "Live now"');
    assert.equal((await viewer.client.get(`/api/lives/${liveId}`)).status, 404);
    assert.equal(await childrenOf(kurento, entry.pipelineId), null, 'the pipeline is released');
    await waitFor(
      async () => (await media(first).pipelineIds()).length === baseline,
      'the media server back to its pipelines',
    );
    assert.equal(media(first).live(liveId), undefined, 'the surviving process dropped its attachment');

    const row = await first.server.db.Live.findByPk(liveId);
    assert.equal(row?.status, 'ended');
    assert.equal(row?.endReason, 'presenterLost');
    assert.ok(row?.endedAt && row.endedAt.getTime() > row.startedAt.getTime(), 'endedAt is not startedAt');
    assert.ok(row.endedAt.getTime() <= killedAt, 'endedAt is the last time the process was known alive');

    const recording = await waitFor(
      async () => {
        const list = (await presenter.client.get<{ recordings: RecordingView[] }>('/api/recordings')).body;
        return list.recordings.find((r) => r.liveId === liveId && r.posterUrl !== null);
      },
      'the recording finalised in the library',
      { timeoutMs: 30_000 },
    );
    assert.ok(['ready', 'incomplete'].includes(recording.status), recording.status);
    assert.ok((recording.durationMs ?? 0) > 1000, `duration ${recording.durationMs} ms`);

    // The one-live lock freed with the crash: the presenter goes live again at once.
    const again = await here.present('p2', presenter.token, 'Back on air');
    assert.ok(again.ok, JSON.stringify(again));
    assert.ok((await here.stop('p2')).ok);
    await waitFor(async () => (await media(first).pipelineIds()).length === baseline, 'the new live released');
    await Promise.all([here.page.close(), there.page.close()]);
  });
});

describe(
  'an API process killed and restarted at once',
  { skip: skipUnless('chromium', 'ffmpeg', 'mariadb', 'redis') },
  () => {
    let first: TestServer;
    let browser: Browser;
    let context: BrowserContext;
    const children: ChildServer[] = [];

    before(async () => {
      // This process never looks for dead ones during the test: only the restarted process can take over.
      first = await startTestServer({
        store: 'redis',
        server: { media: {}, cluster: { heartbeatMs: 600_000, instanceTtlMs: 1_800_000 } },
      });
      browser = await launchBrowser();
      context = await newContext(browser);
    });

    after(async () => {
      for (const child of children) await child.kill();
      await context?.close();
      await browser?.close();
      await first?.close();
    });

    test('the restarted process ends the lives of the process it replaces and reconciles their recordings', async () => {
      const env = { KMS_URI: first.server.services.media!.engine!.uri, ONAIR_TEST_MEDIA: '1' };
      const baseline = (await media(first).pipelineIds()).length;
      const dead = await startChildServer(first, BEAT_MS, env);
      children.push(dead);
      const presenter = await registerUser(first.url);
      const viewer = await registerUser(first.url);
      const there = await openHarness(context, dead.url);
      const here = await openHarness(context, first.url);
      const started = await there.present('p', presenter.token, 'Restarted under a supervisor');
      assert.ok(started.ok, JSON.stringify(started));
      const liveId = started.liveId;
      assert.ok((await here.watch('v', viewer.token, liveId)).ok);
      await waitFor(async () => (await here.stats('v')).framesDecoded > 60, 'two seconds of video', {
        timeoutMs: 30_000,
      });

      // A supervisor restarts it at once: the new process starts while the old one still looks alive.
      await dead.kill();
      const restarted = await startChildServer(first, BEAT_MS, env);
      children.push(restarted);
      assert.notEqual(restarted.instanceId, dead.instanceId);

      const ended = await waitFor(
        async () => (await here.events('v')).find(([e]) => e === 'live:ended'),
        'live:ended at the viewer',
      );
      assert.equal(ended[1].reason, 'presenterLost');
      await waitFor(
        async () => (await first.server.db.Live.findByPk(liveId))?.status === 'ended',
        'the live row ended',
      );
      const row = await first.server.db.Live.findByPk(liveId);
      assert.equal(row?.endReason, 'presenterLost');
      assert.ok(row?.endedAt && row.endedAt.getTime() > row.startedAt.getTime(), 'endedAt is not startedAt');
      const recording = await waitFor(
        async () => {
          const rec = await first.server.db.Recording.findOne({ where: { liveId } });
          return rec && rec.status !== 'recording' && rec.posterFileName !== null ? rec : null;
        },
        'the recording reconciled and finalised',
        { timeoutMs: 30_000 },
      );
      assert.ok(['ready', 'incomplete'].includes(recording.status), recording.status);
      const listed = (await presenter.client.get<{ recordings: RecordingView[] }>('/api/recordings')).body.recordings;
      assert.ok(
        listed.some((r) => r.liveId === liveId),
        'the recording is in the library',
      );
      await waitFor(
        async () => (await media(first).pipelineIds()).length === baseline,
        'the pipeline of the dead process released',
      );
      await restarted.kill();
      await Promise.all([here.page.close(), there.page.close()]);
    });
  },
);

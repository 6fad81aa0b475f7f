import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchBrowser, newContext } from '../../drivers/browser.js';
import { openHarness, type Harness } from '../../drivers/harness.js';
import { registerUser } from '../../drivers/http.js';
import { decodeErrors, pipelineCount, probe } from '../support/media.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { skipUnless } from '../support/services.js';
import { waitFor } from '../../drivers/wait.js';
import { probePackets } from '../engine/helpers/webmFiles.js';

const GRACE_MS = 4000;

/** A presenter whose connection drops comes back within RESUME_GRACE_MS: one live, one recording. */
describe(
  'a presenter resumes after a dropped connection',
  { skip: skipUnless('chromium', 'ffmpeg', 'mariadb') },
  () => {
    let server: TestServer;
    let browser: Browser;
    let context: BrowserContext;
    let presenterPage: Harness;
    let viewerPage: Harness;
    let baseline: number;

    before(async () => {
      server = await startTestServer({ env: { RESUME_GRACE_MS: String(GRACE_MS) }, server: { media: {} } });
      browser = await launchBrowser();
      context = await newContext(browser);
      presenterPage = await openHarness(context, server.url);
      viewerPage = await openHarness(context, server.url);
      baseline = await pipelineCount(server);
    });

    after(async () => {
      await context?.close();
      await browser?.close();
      await server?.close();
    });

    const eventOf = async (page: Harness, key: string, name: string) =>
      (await page.events(key)).find(([e]) => e === name)?.[1];

    test('the live stays on air, viewers see "reconnecting", then the same viewers decode the resumed video; one recording', async () => {
      const presenter = await registerUser(server.url);
      const viewer = await registerUser(server.url);
      const started = await presenterPage.present('p', presenter.token, 'Bumpy train ride');
      assert.ok(started.ok, JSON.stringify(started));
      const { liveId } = started;
      assert.ok((await viewerPage.watch('v', viewer.token, liveId)).ok);
      await waitFor(async () => (await viewerPage.stats('v')).framesDecoded > 0, 'the viewer to decode frames', {
        timeoutMs: 30_000,
      });
      const flowingAt = Date.now();
      await new Promise((r) => setTimeout(r, 1500));

      await presenterPage.dropPresenter('p');
      const reconnecting = await waitFor(
        () => eventOf(viewerPage, 'v', 'live:presenterReconnecting'),
        'the viewer told the presenter is reconnecting',
      );
      assert.deepEqual(reconnecting, { liveId, graceMs: GRACE_MS });
      assert.deepEqual(
        (await presenter.client.get('/api/lives')).body.lives.map((l: { id: string }) => l.id),
        [liveId],
        'still listed',
      );
      assert.equal(await eventOf(viewerPage, 'v', 'live:ended'), undefined);
      // Nothing flows while the presenter is away: what the viewer decodes from now on comes after the resume.
      await new Promise((r) => setTimeout(r, 1000));
      const before = (await viewerPage.stats('v')).framesDecoded;

      const resumed = await presenterPage.resume('p', presenter.token);
      assert.ok(resumed.ok, JSON.stringify(resumed));
      assert.equal(resumed.ok && resumed.liveId, liveId);
      await waitFor(() => eventOf(viewerPage, 'v', 'live:presenterResumed'), 'the viewer told the presenter is back');
      await waitFor(
        async () => (await viewerPage.stats('v')).framesDecoded > before + 30,
        'the same viewer connection to decode the resumed video',
        { timeoutMs: 30_000 },
      );
      await waitFor(async () => (await presenterPage.stats('p')).framesDecoded > 0, 'the new preview to decode', {
        timeoutMs: 30_000,
      });
      assert.equal(await pipelineCount(server), baseline + 1, 'the same pipeline');
      await new Promise((r) => setTimeout(r, 1500));

      const stopped = await presenterPage.stop('p');
      assert.ok(stopped.ok, JSON.stringify(stopped));
      const stoppedAt = Date.now();
      assert.ok(typeof stopped.recordingId === 'number');
      const ended = await waitFor(() => eventOf(viewerPage, 'v', 'live:ended'), 'the viewer told the live ended');
      assert.equal(ended.reason, 'stopped');

      const { Live, Recording } = server.server.db;
      const recordings = await Recording.findAll({ where: { liveId } });
      assert.equal(recordings.length, 1, 'one live, one recording');
      assert.equal((await Live.findByPk(liveId))?.endReason, 'stopped');
      const file = path.join(server.config.recordingsDir, recordings[0]!.fileName);
      const probed = await probe(file);
      assert.deepEqual(probed.codecs, ['opus', 'vp8']);
      // Both parts and the gap between them are in the one file.
      const spanMs = stoppedAt - flowingAt;
      assert.ok(probed.durationS * 1000 >= spanMs - 2000, `the file lasts ${probed.durationS} s of ${spanMs} ms`);
      assert.ok((recordings[0]!.durationMs ?? 0) >= spanMs - 2000, `the library says ${recordings[0]!.durationMs} ms`);
      assert.equal(await decodeErrors(file), '', 'the file decodes across the switch');
      for (const stream of ['a', 'v'] as const) {
        const packets = await probePackets(file, stream);
        const back = packets.findIndex((p, i) => i > 0 && p.pts <= packets[i - 1]!.pts);
        assert.equal(back, -1, `${stream} timestamps keep increasing (packet ${back})`);
      }
      await waitFor(async () => (await pipelineCount(server)) === baseline, 'the pipeline released');
    });

    test('without a resume within the grace period, the live ends for its viewers (presenterLeft), recording kept', async () => {
      const presenter = await registerUser(server.url);
      const viewer = await registerUser(server.url);
      const started = await presenterPage.present('p2', presenter.token, 'Tunnel');
      assert.ok(started.ok, JSON.stringify(started));
      const { liveId } = started;
      assert.ok((await viewerPage.watch('v2', viewer.token, liveId)).ok);
      await waitFor(async () => (await viewerPage.stats('v2')).framesDecoded > 0, 'the viewer to decode frames', {
        timeoutMs: 30_000,
      });
      await presenterPage.dropPresenter('p2');
      const droppedAt = Date.now();
      await waitFor(() => eventOf(viewerPage, 'v2', 'live:presenterReconnecting'), 'the viewer told');
      const ended = await waitFor(() => eventOf(viewerPage, 'v2', 'live:ended'), 'the live to end', {
        timeoutMs: GRACE_MS + 20_000,
      });
      assert.ok(Date.now() - droppedAt >= GRACE_MS - 500, 'not before the grace period ran out');
      assert.equal(ended.reason, 'presenterLeft');
      assert.deepEqual((await presenter.client.get('/api/lives')).body.lives, []);
      assert.equal(await server.server.db.Recording.count({ where: { liveId } }), 1);
      assert.equal((await server.server.db.Live.findByPk(liveId))?.endReason, 'presenterLeft');
      // Too late: nothing is left to resume.
      const late = await presenterPage.resume('p2', presenter.token);
      assert.equal(!late.ok && late.error.code, 'live.notPresenter');
      await waitFor(async () => (await pipelineCount(server)) === baseline, 'the pipeline released');
    });
  },
);

describe(
  'a presenter resumes while its viewers are on another API process',
  { skip: skipUnless('chromium', 'mariadb', 'redis') },
  () => {
    let first: TestServer;
    let second: TestServer;
    let browser: Browser;
    let context: BrowserContext;

    before(async () => {
      const env = { RESUME_GRACE_MS: String(GRACE_MS) };
      first = await startTestServer({ store: 'redis', env, server: { media: {} } });
      second = await startTestServer({
        shareWith: first,
        env: { ...env, KMS_URI: first.server.services.media!.engine!.uri },
        server: { media: {} },
      });
      browser = await launchBrowser();
      context = await newContext(browser);
    });

    after(async () => {
      await context?.close();
      await browser?.close();
      await second?.close();
      await first?.close();
    });

    test("the other process's viewer endpoints follow the new presenter endpoint", async () => {
      const presenter = await registerUser(first.url);
      const viewer = await registerUser(second.url);
      const presenterPage = await openHarness(context, first.url);
      const viewerPage = await openHarness(context, second.url);
      const started = await presenterPage.present('p', presenter.token, 'Across processes');
      assert.ok(started.ok, JSON.stringify(started));
      assert.ok((await viewerPage.watch('v', viewer.token, started.liveId)).ok);
      await waitFor(async () => (await viewerPage.stats('v')).framesDecoded > 0, 'the viewer to decode frames', {
        timeoutMs: 30_000,
      });
      await presenterPage.dropPresenter('p');
      await waitFor(
        async () => (await viewerPage.events('v')).some(([e]) => e === 'live:presenterReconnecting'),
        'the viewer on the other process told',
      );
      await new Promise((r) => setTimeout(r, 1000));
      const before = (await viewerPage.stats('v')).framesDecoded;
      const resumed = await presenterPage.resume('p', presenter.token);
      assert.ok(resumed.ok, JSON.stringify(resumed));
      await waitFor(
        async () => (await viewerPage.stats('v')).framesDecoded > before + 30,
        'the viewer on the other process to decode the resumed video',
        { timeoutMs: 30_000 },
      );
      assert.ok((await presenterPage.stop('p')).ok);
      await waitFor(
        async () => (await viewerPage.events('v')).some(([e]) => e === 'live:ended'),
        'the viewer told the live ended',
      );
      assert.equal(await first.server.db.Recording.count({ where: { liveId: started.liveId } }), 1);
      await presenterPage.page.close();
      await viewerPage.page.close();
    });
  },
);

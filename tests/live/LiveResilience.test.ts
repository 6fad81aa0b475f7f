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

describe(
  'lives across processes and media-server failures',
  { skip: skipUnless('chromium', 'ffmpeg', 'mariadb', 'redis') },
  () => {
    let first: TestServer;
    let second: TestServer;
    let browser: Browser;
    let context: BrowserContext;
    let page: Harness;

    before(async () => {
      first = await startTestServer({ store: 'redis', server: { media: { lossGraceMs: 1500 } } });
      // A second API process on the same database, Redis and media server.
      second = await startTestServer({
        shareWith: first,
        env: { KMS_URI: first.server.services.media!.engine!.uri },
        server: { media: { lossGraceMs: 1500 } },
      });
      browser = await launchBrowser();
      context = await newContext(browser);
      page = await openHarness(context, first.url);
    });

    after(async () => {
      await context?.close();
      await browser?.close();
      await second?.close();
      await first?.close();
    });

    test('candidates sent before the offer is processed are kept and the presenter connects', async () => {
      const presenter = await registerUser(first.url);
      const started = await page.present('early', presenter.token, 'Early candidates', { candidatesFirst: true });
      assert.ok(started.ok, JSON.stringify(started));
      const events = await page.page.evaluate(
        () => (globalThis as any).onair.sessions.early.events as Array<[string, { ok: boolean }]>,
      );
      const early = events.filter(([e]) => e === 'candidateAck');
      assert.ok(early.length > 0 && early.every(([, ack]) => ack.ok), 'every early candidate was accepted for later');
      await waitFor(async () => (await page.stats('early')).framesDecoded > 0, 'the preview to decode frames', {
        timeoutMs: 30_000,
      });
      await page.stop('early');
    });

    test('a viewer on a second API process watches a presenter on the first; the presenter hears of the viewer', async () => {
      const presenter = await registerUser(first.url);
      const viewer = await registerUser(second.url);
      const started = await page.present('p', presenter.token, 'Across processes');
      assert.ok(started.ok);
      const other = await openHarness(context, second.url);
      assert.equal(
        (await viewer.client.get('/api/lives')).body.lives[0]?.id,
        started.liveId,
        'the second process lists the live',
      );
      const watched = await other.watch('v', viewer.token, started.liveId);
      assert.ok(watched.ok, JSON.stringify(watched));
      await waitFor(
        async () => (await other.stats('v')).framesDecoded > 0,
        'the viewer on the second process to decode frames',
        { timeoutMs: 30_000 },
      );
      const joined = await waitFor(
        async () => (await page.events('p')).find(([e]) => e === 'live:viewerJoined'),
        'the join at the presenter',
      );
      assert.equal(joined[1].viewer.nickname, viewer.nickname);
      assert.ok((await page.stop('p')).ok);
      await waitFor(
        async () => (await other.events('v')).some(([e]) => e === 'live:ended'),
        'the viewer on the second process told',
      );
      await waitFor(
        () => second.server.services.media!.server.live(started.liveId) === undefined,
        'the second process to forget the live',
      );
      // Told once, by its own process (which then takes it out of the live's room), with the end's reason.
      const ended = (await other.events('v')).filter(([e]) => e === 'live:ended');
      assert.equal(ended.length, 1, JSON.stringify(ended));
      assert.equal(ended[0]![1].reason, 'stopped');
      assert.equal(typeof ended[0]![1].recordingId, 'number');
      await other.page.close();
    });

    test('at start-up, lives a stopped server left on air are closed as interrupted; lives on air elsewhere stay', async () => {
      const { Live, Recording } = first.server.db;
      const alice = await registerUser(first.url);
      const startedAt = new Date(Date.now() - 60_000);
      await Live.create({
        id: 'crashedlive1',
        userId: alice.user.id,
        title: 'left behind',
        kind: 'broadcast',
        status: 'live',
        startedAt,
      });
      await Recording.create({
        liveId: 'crashedlive1',
        userId: alice.user.id,
        title: 'left behind',
        fileName: 'crashedlive1.webm',
        startedAt,
        durationMs: 42_000,
        status: 'incomplete',
      });
      const onAir = await page.present('kept', alice.token, 'still on air');
      assert.ok(onAir.ok, JSON.stringify(onAir));

      const restarted = await startTestServer({ shareWith: first });
      try {
        const closed = await Live.findByPk('crashedlive1');
        assert.equal(closed?.status, 'ended');
        assert.equal(closed?.endReason, 'interrupted');
        assert.equal(closed?.endedAt?.getTime(), startedAt.getTime() + 42_000);
        assert.equal((await Live.findByPk(onAir.liveId))?.status, 'live');
      } finally {
        await restarted.close();
      }
      assert.ok((await page.stop('kept')).ok);
    });

    test('the media server dying ends the live for everyone, keeps the recording marked incomplete, and comes back', async () => {
      const presenter = await registerUser(first.url);
      const viewer = await registerUser(first.url);
      const started = await page.present('p2', presenter.token, 'Doomed');
      assert.ok(started.ok);
      assert.ok((await page.watch('v2', viewer.token, started.liveId)).ok);
      await waitFor(async () => (await page.stats('v2')).framesDecoded > 0, 'the viewer to decode frames', {
        timeoutMs: 30_000,
      });
      await new Promise((r) => setTimeout(r, 2500));

      const media = first.server.services.media!;
      const oldPid = media.engine!.pid;
      media.engine!.kill('SIGKILL');
      for (const key of ['p2', 'v2']) {
        const ended = await waitFor(
          async () => (await page.events(key)).find(([e]) => e === 'live:ended'),
          `${key} told the live ended`,
          { timeoutMs: 20_000 },
        );
        assert.equal(ended[1].reason, 'mediaServerLost');
      }
      const recording = await waitFor(
        () => first.server.db.Recording.findOne({ where: { liveId: started.liveId, status: 'incomplete' } }),
        'the recording marked incomplete',
      );
      assert.ok((recording.sizeBytes ?? 0) > 0, 'the recording was kept');
      const file = path.join(first.config.recordingsDir, recording.fileName);
      const probed = await probe(file);
      assert.ok(probed.codecs.includes('vp8'), `codecs ${probed.codecs}`);
      // Cut short by the kill: every frame that was written decodes (the null muxer's complaints about the
      // timestamps of the very last packets are not decoding errors).
      // A kill can also cut the very last block short ("File ended prematurely"): everything before it decodes.
      const errors = (await decodeErrors(file))
        .split('\n')
        .filter((l) => l && !/non monotonically increasing dts to muxer|File ended prematurely/.test(l));
      assert.deepEqual(errors, [], 'what was written decodes');
      assert.equal((await first.server.db.Live.findByPk(started.liveId))?.endReason, 'mediaServerLost');
      assert.deepEqual((await presenter.client.get('/api/lives')).body.lives, []);

      // The embedded engine is started again and new lives work.
      await waitFor(
        async () => media.engine!.pid !== oldPid && media.server.available && (await media.probe()),
        'the engine to be back',
        { timeoutMs: 30_000 },
      );
      const again = await page.present('p3', presenter.token, 'Back on air');
      assert.ok(again.ok, JSON.stringify(again));
      await waitFor(async () => (await page.stats('p3')).framesDecoded > 0, 'frames after the restart', {
        timeoutMs: 30_000,
      });
      assert.ok((await page.stop('p3')).ok);
      await waitFor(async () => (await pipelineCount(first)) === 0, 'no pipeline left');
    });
  },
);

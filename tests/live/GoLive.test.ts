import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchBrowser, newContext } from '../../drivers/browser.js';
import { openHarness, type Harness } from '../../drivers/harness.js';
import { registerUser, type SignedInUser } from '../../drivers/http.js';
import { decodeErrors, pipelineCount, probe } from '../support/media.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { skipUnless } from '../support/services.js';
import { waitFor } from '../../drivers/wait.js';

describe('go live and watch', { skip: skipUnless('chromium', 'ffmpeg', 'mariadb') }, () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let presenterPage: Harness;
  let viewersPage: Harness;
  let presenter: SignedInUser;
  let viewers: SignedInUser[];
  let baseline: number;

  before(async () => {
    server = await startTestServer({ server: { media: {} } });
    browser = await launchBrowser();
    context = await newContext(browser);
    presenterPage = await openHarness(context, server.url);
    viewersPage = await openHarness(context, server.url);
    presenter = await registerUser(server.url);
    viewers = await Promise.all([1, 2, 3].map(() => registerUser(server.url)));
    baseline = await pipelineCount(server);
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
  });

  test('a presenter goes live, three viewers watch, the presenter sees them come and go, stop stores the recording', async () => {
    const started = await presenterPage.present('p', presenter.token, 'Morning show');
    assert.ok(started.ok, JSON.stringify(started));
    const liveId = started.liveId;

    // The loopback preview is the presenter's own stream back from the media server.
    await waitFor(
      async () => (await presenterPage.stats('p')).framesDecoded > 0,
      'the presenter preview to decode frames',
      { timeoutMs: 30_000 },
    );
    const mediaFlowingAt = Date.now();
    assert.equal(await pipelineCount(server), baseline + 1);

    const listed = await presenter.client.get('/api/lives');
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.body.lives.map((l: { id: string }) => l.id),
      [liveId],
    );
    assert.equal(listed.body.lives[0].title, 'Morning show');
    assert.equal(listed.body.lives[0].presenter.nickname, presenter.nickname);

    for (const [i, viewer] of viewers.entries()) {
      const watched = await viewersPage.watch(`v${i}`, viewer.token, liveId);
      assert.ok(watched.ok, JSON.stringify(watched));
    }
    for (const i of [0, 1, 2]) {
      await waitFor(
        async () => {
          const s = await viewersPage.stats(`v${i}`);
          return s.framesDecoded > 0 && s.audioSamples > 0;
        },
        `viewer ${i} to decode frames and receive audio`,
        { timeoutMs: 30_000 },
      );
    }
    const joined = await waitFor(async () => {
      const events = (await presenterPage.events('p')).filter(([e]) => e === 'live:viewerJoined');
      return events.length === 3 ? events : null;
    }, 'three joins at the presenter');
    assert.deepEqual(joined.map(([, m]) => m.viewer.nickname).sort(), viewers.map((v) => v.nickname).sort());
    assert.equal(joined.at(-1)?.[1].viewerCount, 3);
    assert.equal((await presenter.client.get(`/api/lives/${liveId}`)).body.live.viewerCount, 3);

    assert.ok((await viewersPage.leave('v2')).ok);
    const left = await waitFor(
      async () => (await presenterPage.events('p')).find(([e]) => e === 'live:viewerLeft'),
      'a leave at the presenter',
    );
    assert.equal(left[1].viewer.nickname, viewers[2]!.nickname);
    assert.equal(left[1].viewerCount, 2);
    assert.equal((await presenter.client.get('/api/lives')).body.lives[0].viewerCount, 2);

    // On air for a few seconds at least, so that the recording's length says something.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, mediaFlowingAt + 4000 - Date.now())));
    const stoppedAt = Date.now();
    const stopped = await presenterPage.stop('p');
    assert.ok(stopped.ok, JSON.stringify(stopped));
    for (const i of [0, 1]) {
      const ended = await waitFor(
        async () => (await viewersPage.events(`v${i}`)).find(([e]) => e === 'live:ended'),
        `viewer ${i} told the live ended`,
      );
      assert.equal(ended[1].reason, 'stopped');
    }
    await waitFor(async () => (await pipelineCount(server)) === baseline, 'the pipeline to be released');
    assert.deepEqual((await presenter.client.get('/api/lives')).body.lives, []);

    const { Recording, Live } = server.server.db;
    const recording = await Recording.findOne({ where: { liveId } });
    assert.ok(recording, 'a recording row exists');
    assert.equal(stopped.recordingId, recording.id);
    assert.equal(recording.status, 'ready');
    assert.equal(recording.userId, presenter.user.id);
    assert.equal(recording.location, 'Paris, France');
    assert.ok((recording.sizeBytes ?? 0) > 0);
    const live = await Live.findByPk(liveId);
    assert.equal(live?.status, 'ended');
    assert.equal(live?.peakViewers, 3);
    assert.equal(live?.totalViewers, 3);

    const file = path.join(server.config.recordingsDir, recording.fileName);
    const probed = await probe(file);
    assert.ok(probed.codecs.includes('vp8'), `video in ${probed.codecs}`);
    assert.ok(probed.codecs.includes('opus'), `audio in ${probed.codecs}`);
    // The recording covers the live from the moment media flowed (give or take a keyframe interval) to the stop.
    const flowedS = (stoppedAt - mediaFlowingAt) / 1000;
    assert.ok(
      probed.durationS > flowedS - 1.5 && probed.durationS < flowedS + 3,
      `duration ${probed.durationS} s for ${flowedS} s of media`,
    );
    assert.ok(probed.seekable, 'the recording has cues (seekable)');
    assert.equal(await decodeErrors(file), '');
  });
});

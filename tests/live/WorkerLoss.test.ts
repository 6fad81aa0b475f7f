/**
 * A live served by both workers of the embedded engine (ENGINE_WORKERS=2): a worker killed under it ends only the
 * viewers it served. They are told (`live:viewerMediaLost`), the presenter sees them leave, and they watch on with a
 * new offer, placed on a worker that is alive; the others never stop, and the live and its recording go on.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchBrowser, newContext } from '../../drivers/browser.js';
import { openHarness, type Harness } from '../../drivers/harness.js';
import { registerUser, type SignedInUser } from '../../drivers/http.js';
import { waitFor } from '../../drivers/wait.js';
import { decodeErrors, pipelineCount, probe } from '../support/media.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { skipUnless } from '../support/services.js';

const VIEWERS = 4;

interface HostFigures {
  pid: number;
  webRtcEndpoints: number;
  relaySources: number;
}

describe('a media worker killed under a live', { skip: skipUnless('chromium', 'ffmpeg', 'mariadb') }, () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let presenterPage: Harness;
  let viewersPage: Harness;
  let presenter: SignedInUser;
  let viewers: SignedInUser[];
  let baseline: number;

  before(async () => {
    server = await startTestServer({ env: { ENGINE_WORKERS: '2' }, server: { media: {} } });
    browser = await launchBrowser();
    context = await newContext(browser);
    presenterPage = await openHarness(context, server.url);
    viewersPage = await openHarness(context, server.url);
    presenter = await registerUser(server.url);
    viewers = await Promise.all(Array.from({ length: VIEWERS }, () => registerUser(server.url)));
    baseline = await pipelineCount(server);
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
  });

  const hosts = async (): Promise<HostFigures[]> => {
    const uri = new URL(server.server.services.media!.engine!.uri);
    const res = await fetch(`http://${uri.host}/stats`);
    return ((await res.json()) as { hosts: HostFigures[] }).hosts;
  };

  const decodesMore = async (key: string, more = 15) => {
    const start = (await viewersPage.stats(key)).framesDecoded;
    await waitFor(async () => (await viewersPage.stats(key)).framesDecoded >= start + more, `${key} decoding`, {
      timeoutMs: 30_000,
    });
  };

  test('ends only its own viewers, who are told and watch on from a live worker', async () => {
    const started = await presenterPage.present('p', presenter.token, 'Two workers');
    assert.ok(started.ok, JSON.stringify(started));
    const keys = viewers.map((_, i) => `v${i}`);
    for (const [i, viewer] of viewers.entries()) {
      const watched = await viewersPage.watch(keys[i]!, viewer.token, started.liveId);
      assert.ok(watched.ok, JSON.stringify(watched));
    }
    for (const key of keys) await decodesMore(key);
    const figures = await hosts();
    const victim = figures.find((h) => h.relaySources > 0);
    assert.ok(victim && victim.webRtcEndpoints > 0, `viewers on the second worker: ${JSON.stringify(figures)}`);

    process.kill(victim.pid, 'SIGKILL');
    const lostKeys = await waitFor(
      async () => {
        const told = [];
        for (const key of keys) {
          if ((await viewersPage.events(key)).some(([e]) => e === 'live:viewerMediaLost')) told.push(key);
        }
        return told.length === victim.webRtcEndpoints ? told : null;
      },
      'the viewers of the killed worker told',
      { timeoutMs: 20_000 },
    );
    const keptKeys = keys.filter((k) => !lostKeys.includes(k));
    assert.ok(keptKeys.length > 0, 'viewers of the home worker kept');
    await waitFor(
      async () => (await presenterPage.events('p')).filter(([e]) => e === 'live:viewerLeft').length === lostKeys.length,
      'the presenter told they left',
    );
    for (const key of keptKeys) await decodesMore(key);
    for (const key of [...keys, 'p']) {
      assert.ok(!(await viewersPage.events(key)).some(([e]) => e === 'live:ended'), `${key}: the live goes on`);
    }

    // They watch on: a new offer on the same socket, served by a worker that is alive.
    for (const key of lostKeys) {
      const again = await viewersPage.reoffer(key);
      assert.ok(again.ok, JSON.stringify(again));
    }
    for (const key of lostKeys) await decodesMore(key);
    assert.ok(!(await hosts()).some((h) => h.pid === victim.pid));
    const live = await presenter.client.get(`/api/lives/${started.liveId}`);
    assert.equal(live.body.live.viewerCount, VIEWERS);

    const stopped = await presenterPage.stop('p');
    assert.ok(stopped.ok && stopped.recordingId, JSON.stringify(stopped));
    await waitFor(async () => (await pipelineCount(server)) === baseline, 'the pipeline released');
    const { Recording } = server.server.db;
    const recording = await Recording.findOne({ where: { liveId: started.liveId } });
    assert.ok(recording, 'one recording');
    assert.equal(recording.status, 'ready');
    const file = path.join(server.config.recordingsDir, recording.fileName);
    const probed = await probe(file);
    assert.ok(probed.durationS > 3, `the recording lasts ${probed.durationS} s`);
    assert.equal(await decodeErrors(file), '');
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { makeClip, readClip, type Clip } from '../../smoke/media.js';
import { launchBrowser, newContext } from '../../drivers/browser.js';
import { registerUser, type SignedInUser } from '../../drivers/http.js';
import { pipelineCount } from '../support/media.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { skipUnless } from '../support/services.js';
import { waitFor } from '../../drivers/wait.js';
import { makeH264Clip, WhipPeer, type H264Clip } from '../../drivers/whip.js';

const WAIT = { timeout: 30_000 };

describe('a WHIP live in the web app', { skip: skipUnless('chromium', 'ffmpeg', 'mariadb') }, () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let presenter: SignedInUser;
  let viewer: SignedInUser;
  let clip: Clip;
  let h264: H264Clip;
  let clipDir: string;
  const peers: WhipPeer[] = [];

  before(async () => {
    clipDir = await mkdtemp(path.join(os.tmpdir(), 'onair-whip-'));
    clip = await readClip(await makeClip(clipDir));
    h264 = await makeH264Clip(clipDir);
    server = await startTestServer({ server: { media: {} } });
    browser = await launchBrowser();
    presenter = await registerUser(server.url);
    viewer = await registerUser(server.url);
    context = await newContext(browser, server.url);
    await context.addInitScript(`localStorage.setItem('onair.token', ${JSON.stringify(viewer.token)})`);
  });

  after(async () => {
    for (const peer of peers) await peer.close();
    await context?.close();
    await browser?.close();
    await server?.close();
    await rm(clipDir, { recursive: true, force: true });
  });

  for (const codec of ['VP8', 'H.264'] as const) {
    test(`a viewer watches a live published over WHIP (${codec}) in Chromium: frames decode and the viewer is counted`, async () => {
      const baseline = await pipelineCount(server);
      const key = (await presenter.client.post('/api/stream-keys', { name: 'From OBS' })).body.key as string;
      const publisher = WhipPeer.publisher(codec === 'VP8' ? clip : h264);
      peers.push(publisher);
      const published = await publisher.connect(`${server.url}/whip?title=${encodeURIComponent('Night sky')}`, key);
      assert.equal(published.status, 201, published.text);
      const liveId = await waitFor(
        async () => (await viewer.client.get('/api/lives')).body.lives[0]?.id as string | undefined,
        'the WHIP live on air',
      );

      const page = await context.newPage();
      await page.goto(`/live/${liveId}`);
      await page.locator('[data-testid="watch-status"][data-stage="playing"]').waitFor(WAIT);
      assert.equal(await page.getByTestId('watch-title').textContent(), 'Night sky', 'the title from ?title=');
      assert.equal(await page.getByTestId('watch-presenter').textContent(), presenter.nickname);
      const selector = '[data-testid="watch-video"]';
      await page.waitForFunction(
        (s) => {
          const video = document.querySelector<HTMLVideoElement>(s);
          return !!video && video.videoWidth > 0 && video.getVideoPlaybackQuality().totalVideoFrames > 5;
        },
        selector,
        WAIT,
      );
      assert.equal(await page.$eval(selector, (v: HTMLVideoElement) => v.videoWidth), clip.width);
      assert.equal((await viewer.client.get(`/api/lives/${liveId}`)).body.live.viewerCount, 1);

      assert.equal(await publisher.hangUp(), 200);
      await page.locator('[data-testid="watch-status"][data-stage="ended"]').waitFor(WAIT);
      await page.close();
      await waitFor(async () => (await pipelineCount(server)) === baseline, 'the pipeline to be released');
    });
  }
});

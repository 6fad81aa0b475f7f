/**
 * Going live and watching through the UI, in real Chromium against a real server with the embedded media engine:
 * the Go live page (kurento-utils peers, loopback preview, viewer feed), Live now in real time, the Watch page
 * (playing, ended, not found). One browser, one context per user.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { registerUser, type SignedInUser } from '../../drivers/http.js';
import { pipelineCount } from '../support/media.js';
import { useBrowserApp } from '../support/browserApp.js';
import { skipUnless } from '../support/services.js';
import { waitFor } from '../../drivers/wait.js';

const WAIT = { timeout: 30_000 };

/** Records the configuration of every RTCPeerConnection the page creates (to check which ICE servers it uses). */
const RECORD_PEER_CONFIGS = `(() => {
  const Native = window.RTCPeerConnection;
  window.__peerConfigs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(config, ...rest) {
      window.__peerConfigs.push(JSON.parse(JSON.stringify(config ?? null)));
      super(config, ...rest);
    }
  };
})();`;

describe('going live and watching through the UI', { skip: skipUnless('chromium', 'mariadb') }, () => {
  const app = useBrowserApp();

  /** A page of its own context, signed in as `user`. */
  const pageOf = (user: SignedInUser): Promise<Page> => app.page({ user, init: [RECORD_PEER_CONFIGS] });

  /** The video has a picture and shows new frames (its clock moves and a frame is presented). */
  async function expectPlaying(page: Page, testid: string): Promise<void> {
    const selector = `[data-testid="${testid}"]`;
    await page.waitForFunction(
      (s) => {
        const video = document.querySelector<HTMLVideoElement>(s);
        return !!video && video.videoWidth > 0 && video.currentTime > 0;
      },
      selector,
      WAIT,
    );
    const before = await page.$eval(selector, (v: HTMLVideoElement) => v.currentTime);
    await page.waitForFunction(
      ([s, t]) => document.querySelector<HTMLVideoElement>(s)!.currentTime > t,
      [selector, before] as const,
      WAIT,
    );
    await page.$eval(
      selector,
      (v: HTMLVideoElement) => new Promise<void>((resolve) => v.requestVideoFrameCallback(() => resolve())),
    );
  }

  const peerConfigs = (page: Page) =>
    page.evaluate(
      () => (window as unknown as { __peerConfigs: Array<{ iceServers?: unknown[] } | null> }).__peerConfigs,
    );

  it('a presenter goes live, Live now shows it at once, a viewer watches, the presenter sees them, and stopping ends it for the viewer', async () => {
    const presenter = await registerUser(app.server.url);
    const viewer = await registerUser(app.server.url);
    const baseline = await pipelineCount(app.server);

    const watching = await pageOf(viewer);
    await watching.goto('/');
    await watching.getByTestId('lives-empty').waitFor(WAIT);

    const studio = await pageOf(presenter);
    await studio.goto('/go-live');
    await studio.getByTestId('live-title').fill('Morning show');
    await studio.getByTestId('start-live').click();
    await studio.locator('[data-testid="live-status"][data-stage="live"]').waitFor(WAIT);
    // The preview is the presenter's own stream, back from the media app.server.
    await expectPlaying(studio, 'preview');
    const link = await studio.getByTestId('watch-link').inputValue();
    assert.match(link, new RegExp(`^${app.server.url}/live/[a-z0-9]{12}$`));

    // Live now, open since before, lists the live without a reload.
    const card = watching.getByTestId('live-card');
    await card.waitFor(WAIT);
    assert.equal(await card.getByTestId('live-title').textContent(), 'Morning show');
    assert.equal(await card.getByTestId('live-presenter').textContent(), presenter.nickname);
    await card.getByRole('link').click();
    await watching.waitForURL(link, WAIT);

    await watching.locator('[data-testid="watch-status"][data-stage="playing"]').waitFor(WAIT);
    await expectPlaying(watching, 'watch-video');
    assert.equal(await watching.getByTestId('watch-title').textContent(), 'Morning show');
    assert.equal(await watching.getByTestId('watch-presenter').textContent(), presenter.nickname);

    await studio.getByTestId('viewer-count').filter({ hasText: /^1$/ }).waitFor(WAIT);
    const entry = studio.getByTestId('feed-entry');
    assert.equal(await entry.count(), 1);
    assert.equal(await entry.getByTestId('feed-nickname').textContent(), viewer.nickname);
    assert.equal(await entry.getAttribute('data-kind'), 'joined');

    await studio.getByTestId('stop-live').click();
    await studio.locator('[data-testid="live-status"][data-stage="ended"]').waitFor(WAIT);
    await watching.getByTestId('watch-ended').waitFor(WAIT);
    assert.equal(await watching.getByTestId('watch-status').getAttribute('data-stage'), 'ended');
    await waitFor(async () => (await pipelineCount(app.server)) === baseline, 'the live pipeline to be released');

    // kurento-utils used only the ICE servers onair handed out (none without TURN), never its public STUN defaults.
    for (const page of [studio, watching]) {
      const configs = await peerConfigs(page);
      assert.ok(configs.length > 0, 'the page made a peer connection');
      for (const config of configs) assert.deepEqual(config?.iceServers, []);
    }
  });

  it('a Live now card shows a recent frame of the live, refreshed while it is on air, and only its presenter sends one', async () => {
    const presenter = await registerUser(app.server.url);
    const viewer = await registerUser(app.server.url);
    const studio = await pageOf(presenter);
    await studio.goto('/go-live');
    await studio.getByTestId('live-title').fill('Frames');
    await studio.getByTestId('start-live').click();
    await studio.locator('[data-testid="live-status"][data-stage="live"]').waitFor(WAIT);
    const liveId = new URL(await studio.getByTestId('watch-link').inputValue()).pathname.split('/').pop()!;

    const watching = await pageOf(viewer);
    await watching.goto('/');
    const poster = watching.locator(`[data-testid="live-card"][data-live-id="${liveId}"] [data-testid="live-poster"]`);
    await poster.waitFor(WAIT);
    const first = { src: await poster.getAttribute('src'), at: await poster.getAttribute('data-taken-at') };
    assert.match(first.src ?? '', /^data:image\/jpeg;base64,\/9j\//, 'a JPEG');
    assert.ok(await poster.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth === 320), 'it decodes');
    await watching.screenshot({ path: '.test-artifacts/live-now-poster.png' });
    // The fake camera moves: a later frame, taken later, is shown without a reload.
    const second = await waitFor(
      async () => {
        const at = await poster.getAttribute('data-taken-at');
        return at && at !== first.at ? { src: await poster.getAttribute('src'), at } : null;
      },
      'a newer frame on the card',
      { timeoutMs: 40_000 },
    );
    assert.ok(Date.parse(second.at) > Date.parse(first.at!));
    assert.notEqual(second.src, first.src, 'a different picture');

    // Only the presenter uploads, only JPEGs, at most one frame every few seconds.
    const put = (token: string, body: unknown) =>
      fetch(`${app.server.url}/api/lives/${liveId}/poster`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then(async (r) => ({
        status: r.status,
        code: r.status === 204 ? '' : ((await r.json()) as { error: { code: string } }).error.code,
      }));
    const jpeg = second.src!.slice('data:image/jpeg;base64,'.length);
    assert.deepEqual(await put(viewer.token, { jpeg }), { status: 403, code: 'live.notPresenter' });
    assert.deepEqual(await put(presenter.token, { jpeg: Buffer.from('<svg/>').toString('base64') }), {
      status: 400,
      code: 'request.invalid',
    });
    const flood = [await put(presenter.token, { jpeg }), await put(presenter.token, { jpeg })];
    assert.ok(
      flood.some((r) => r.code === 'request.rateLimited'),
      JSON.stringify(flood),
    );

    // Once the live is over, its frame is gone.
    await studio.getByTestId('stop-live').click();
    await studio.locator('[data-testid="live-status"][data-stage="ended"]').waitFor(WAIT);
    await waitFor(async () => {
      const r = await fetch(`${app.server.url}/api/lives/${liveId}/poster`, {
        headers: { authorization: `Bearer ${viewer.token}` },
      });
      return r.status === 404;
    }, 'the frame to be gone');
  });

  it('a watch link with an unknown live id shows that the live does not exist', async () => {
    const viewer = await registerUser(app.server.url);
    const page = await pageOf(viewer);
    await page.goto('/live/zzzzzzzzzzzz');
    await page.getByTestId('watch-not-found').waitFor(WAIT);
    assert.equal(await page.getByTestId('watch-video').isVisible(), false);
  });
});

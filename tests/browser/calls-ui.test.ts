/**
 * Calls through the UI, in real Chromium against a real server with the embedded media engine: A sees B online and
 * calls from the Calls page; B, on another page, accepts from the notification and lands in the call; both see and
 * hear each other; the toggles pause A's tracks and B sees A's "camera off" card; A hangs up; both see how it ended and the history. One context per user.
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

describe('calls through the UI', { skip: skipUnless('chromium', 'mariadb') }, () => {
  const app = useBrowserApp();
  const pageOf = (user: SignedInUser): Promise<Page> => app.page({ user });

  /** The video shows new frames (and, for the other side, its sound is on). */
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
  }

  /** The other side's audio track is live in the remote video's stream. */
  const remoteAudio = (page: Page) =>
    page.$eval(
      '[data-testid="remote-video"]',
      (v: HTMLVideoElement) =>
        ((v.srcObject as MediaStream | null)?.getAudioTracks() ?? []).filter((t) => t.readyState === 'live').length,
    );

  it('A calls B from the online list, B accepts from the notification, both see each other, A hangs up', async () => {
    const a = await registerUser(app.server.url);
    const b = await registerUser(app.server.url);
    const baseline = await pipelineCount(app.server);

    const pb = await pageOf(b);
    await pb.goto('/recordings');
    const pa = await pageOf(a);
    await pa.goto('/calls');
    const row = pa.locator(`[data-testid="online-user"][data-nickname="${b.nickname}"]`);
    await row.waitFor(WAIT);
    await row.getByTestId('call-user').click();
    await pa.locator('[data-testid="call-stage"][data-state="ringing"]').waitFor(WAIT);

    // B is on another page: the notification shows there.
    const notice = pb.getByTestId('incoming-call');
    await notice.waitFor(WAIT);
    assert.equal(await notice.getByTestId('incoming-caller').textContent(), a.nickname);
    await notice.getByTestId('accept-call').click();
    await pb.waitForURL(`${app.server.url}/calls`, WAIT);
    await notice.waitFor({ state: 'detached', ...WAIT });

    for (const page of [pa, pb]) {
      await page.locator('[data-testid="call-stage"][data-state="accepted"]').waitFor(WAIT);
      await expectPlaying(page, 'local-video');
      await expectPlaying(page, 'remote-video');
      assert.equal(await remoteAudio(page), 1);
    }
    assert.equal(await pa.getByTestId('call-peer').textContent(), b.nickname);
    assert.equal(await pb.getByTestId('call-peer').textContent(), a.nickname);
    assert.equal(await pipelineCount(app.server), baseline + 2);
    await pa
      .getByTestId('call-duration')
      .filter({ hasText: /^0:0[1-9]|^0:[1-5]\d/ })
      .waitFor(WAIT);

    // A's camera and microphone off: B sees A's "camera off" card with the muted badge; A sees none for B.
    assert.equal(await pb.getByTestId('camera-off').count(), 0, 'no card while the camera is on');
    await pa.getByTestId('toggle-mic').click();
    await pa.getByTestId('toggle-camera').click();
    assert.equal(await pa.getByTestId('toggle-mic').getAttribute('aria-pressed'), 'true');
    assert.equal(await pa.getByTestId('toggle-camera').getAttribute('aria-pressed'), 'true');
    const card = pb.getByTestId('camera-off');
    await card.waitFor(WAIT);
    assert.match((await card.textContent()) ?? '', new RegExp(a.nickname));
    await card.getByTestId('camera-off-muted').waitFor(WAIT);
    assert.equal(await pa.getByTestId('camera-off').count(), 0, "B's camera is on");
    await pb.screenshot({ path: '.test-artifacts/call-camera-off.png' });
    await pa.getByTestId('toggle-mic').click();
    assert.equal(await pa.getByTestId('toggle-mic').getAttribute('aria-pressed'), 'false');
    await card.getByTestId('camera-off-muted').waitFor({ state: 'detached', ...WAIT });
    await pa.getByTestId('toggle-camera').click();
    await card.waitFor({ state: 'detached', ...WAIT });

    await pa.getByTestId('hang-up').click();
    for (const page of [pa, pb]) {
      const ended = page.getByTestId('call-ended');
      await ended.waitFor(WAIT);
      assert.equal(await ended.getAttribute('data-outcome'), 'completed');
      await page.getByTestId('call-stage').waitFor({ state: 'detached', ...WAIT });
      const entry = page.locator('[data-testid="call-entry"][data-outcome="completed"]');
      await entry.waitFor(WAIT);
      assert.match((await entry.getByTestId('call-entry-duration').textContent()) ?? '', /^\d+:\d\d$/);
    }
    assert.equal(await pa.locator('[data-testid="call-entry"]').first().getAttribute('data-direction'), 'outgoing');
    assert.equal(await pb.locator('[data-testid="call-entry"]').first().getAttribute('data-direction'), 'incoming');
    await waitFor(async () => (await pipelineCount(app.server)) === baseline, 'every pipeline released');
  });

  it('someone who comes online while this tab is still connecting is listed once it connects', async () => {
    const a = await registerUser(app.server.url);
    const b = await registerUser(app.server.url);
    const pa = await pageOf(a);
    // A's signalling connection is held open but not let through to the server until B is online.
    let letThrough!: () => void;
    const held = new Promise<void>((resolve) => (letThrough = resolve));
    await pa.routeWebSocket(/\/socket\.io\/webrtc\//, async (ws) => {
      await held;
      ws.connectToServer();
    });
    const listed = pa.waitForResponse((r) => r.url().endsWith('/api/users/online') && r.ok());
    await pa.goto('/calls');
    assert.ok(!JSON.stringify(await (await listed).json()).includes(b.nickname), 'B is not online yet');

    const pb = await pageOf(b);
    await pb.goto('/');
    await waitFor(async () => {
      const res = await fetch(`${app.server.url}/api/users/online`, {
        headers: { authorization: `Bearer ${a.token}` },
      });
      return JSON.stringify(await res.json()).includes(b.nickname);
    }, 'B is online');
    // B's `presence:online` went out before A's socket was in the room: A learns of B from the list loaded again.
    letThrough();
    await pa.locator(`[data-testid="online-user"][data-nickname="${b.nickname}"]`).waitFor(WAIT);
  });

  it('B declines: A is told; a user who goes offline leaves the list', async () => {
    const a = await registerUser(app.server.url);
    const b = await registerUser(app.server.url);
    const pa = await pageOf(a);
    await pa.goto('/calls');
    const pb = await pageOf(b);
    await pb.goto('/');
    const row = pa.locator(`[data-testid="online-user"][data-nickname="${b.nickname}"]`);
    await row.waitFor(WAIT);
    await row.getByTestId('call-user').click();
    await pb.getByTestId('incoming-call').waitFor(WAIT);
    await pb.getByTestId('decline-call').click();
    const ended = pa.getByTestId('call-ended');
    await ended.waitFor(WAIT);
    assert.equal(await ended.getAttribute('data-outcome'), 'rejected');
    assert.match((await ended.textContent()) ?? '', /declined/);

    await pb.context().close();
    await row.waitFor({ state: 'detached', ...WAIT });
  });
});

/**
 * Chat, reactions, audience and replay through the UI, in real Chromium against a real server with the embedded
 * media engine: the Go live page and the Watch page side by side, then the recording in the Recordings player.
 * Screenshots go to .test-artifacts/chat-*.png.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { registerUser, type SignedInUser } from '../../drivers/http.js';
import { useBrowserApp } from '../support/browserApp.js';
import { skipUnless } from '../support/services.js';
import { waitFor } from '../../drivers/wait.js';

const WAIT = { timeout: 30_000 };
const ARTIFACTS = path.resolve('.test-artifacts');

describe(
  'chat, reactions and their replay through the UI',
  { skip: skipUnless('chromium', 'ffmpeg', 'mariadb') },
  () => {
    const app = useBrowserApp();
    before(() => mkdirSync(ARTIFACTS, { recursive: true }));

    const pageOf = (user: SignedInUser): Promise<Page> => app.page({ user, viewport: { width: 1280, height: 900 } });

    const messageWith = (page: Page, text: string): Locator =>
      page.getByTestId('chat-message').filter({ hasText: text });

    it('chat while live (plain text, safe links, moderation), a reaction burst, the audience, then the replay after a seek', async () => {
      const presenter = await registerUser(app.server.url);
      const viewer = await registerUser(app.server.url);

      const studio = await pageOf(presenter);
      await studio.goto('/go-live');
      await studio.getByTestId('live-title').fill('Chatty show');
      await studio.getByTestId('start-live').click();
      await studio.locator('[data-testid="live-status"][data-stage="live"]').waitFor(WAIT);
      const link = await studio.getByTestId('watch-link').inputValue();
      const liveStartedAt = Date.now();

      const watching = await pageOf(viewer);
      await watching.goto(link);
      await watching.locator('[data-testid="watch-status"][data-stage="playing"]').waitFor(WAIT);
      await watching.getByTestId('chat-input').waitFor(WAIT);

      // Audience: the presenter sees who watches; the viewer sees the count.
      await studio.getByTestId('audience-viewer').filter({ hasText: viewer.nickname }).waitFor(WAIT);
      await watching.getByTestId('watch-viewers').filter({ hasText: '1 viewer' }).waitFor(WAIT);

      // Some seconds into the live, so that the replay has a "before" and an "after".
      await waitFor(() => Date.now() - liveStartedAt > 5000, 'a few seconds of live', { timeoutMs: 30_000 });
      const hostile =
        'look <b>bold</b> <img src=x onerror="window.__owned=1"> https://example.com/a?b=1. javascript:alert(1) 🎉';
      await watching.getByTestId('chat-input').fill(hostile);
      await watching.getByTestId('chat-send').click();
      for (const page of [watching, studio]) {
        const message = messageWith(page, 'look <b>bold</b>');
        await message.waitFor(WAIT);
        assert.equal(await message.getByTestId('chat-author').textContent(), viewer.nickname);
        // Rendered as text: no element came out of the message, and the one link is http(s), made safe.
        assert.equal(await message.locator('[data-testid="chat-text"] :not(a)').count(), 0);
        const links = message.getByTestId('chat-link');
        assert.equal(await links.count(), 1);
        assert.equal(await links.getAttribute('href'), 'https://example.com/a?b=1');
        assert.equal(await links.getAttribute('rel'), 'noopener noreferrer nofollow');
        assert.ok((await message.getByTestId('chat-text').textContent())?.includes('javascript:alert(1) 🎉'));
        assert.equal(await page.evaluate(() => (window as unknown as { __owned?: number }).__owned), undefined);
      }

      // The presenter answers; the viewer sees it.
      await studio.getByTestId('chat-input').fill('welcome!');
      await studio.getByTestId('chat-send').click();
      await messageWith(watching, 'welcome!').waitFor(WAIT);

      // A reaction burst floats over the video for both.
      for (let i = 0; i < 3; i++) await watching.getByTestId('react-heart').click();
      await watching.getByTestId('react-fire').click();
      for (const page of [watching, studio]) {
        await page
          .locator('[data-testid="reaction-float"][data-kind="heart"]')
          .first()
          .waitFor({ state: 'attached', ...WAIT });
      }
      await watching.screenshot({ path: path.join(ARTIFACTS, 'chat-watch.png') });
      await studio.screenshot({ path: path.join(ARTIFACTS, 'chat-golive.png') });

      // Moderation: a message deleted for everybody; a mute that stops the viewer writing, then lifted.
      await watching.getByTestId('chat-input').fill('spam spam spam');
      await watching.getByTestId('chat-send').click();
      await messageWith(studio, 'spam spam spam').waitFor(WAIT);
      await messageWith(studio, 'spam spam spam').getByTestId('chat-delete').click();
      await messageWith(watching, 'spam spam spam').waitFor({ state: 'detached', ...WAIT });
      await messageWith(studio, 'spam spam spam').waitFor({ state: 'detached', ...WAIT });

      await messageWith(studio, 'look <b>bold</b>').getByTestId('chat-mute').click();
      const input = watching.getByTestId('chat-input');
      await waitFor(() => input.isDisabled(), 'the muted viewer cannot write');
      assert.match((await input.getAttribute('placeholder')) ?? '', /muted you/);
      await messageWith(studio, 'look <b>bold</b>').getByTestId('chat-mute').click();
      await waitFor(async () => !(await input.isDisabled()), 'the viewer can write again');
      await watching.screenshot({ path: path.join(ARTIFACTS, 'chat-watch-moderated.png') });

      // A few more seconds of live, then the end: the recording keeps the chat and reactions.
      await waitFor(() => Date.now() - liveStartedAt > 11_000, 'more seconds of live', { timeoutMs: 30_000 });
      await studio.getByTestId('stop-live').click();
      await studio.locator('[data-testid="live-status"][data-stage="ended"]').waitFor(WAIT);

      const liveId = link.split('/').pop()!;
      const recordingId = await waitFor(
        async () => {
          const list = await viewer.client.get('/api/recordings');
          const row = (list.body.recordings as Array<{ id: number; liveId: string; status: string }>).find(
            (r) => r.liveId === liveId,
          );
          return row && row.status !== 'recording' ? row.id : null;
        },
        'the recording to be finalised',
        { timeoutMs: 60_000 },
      );
      const replay = await viewer.client.get(`/api/recordings/${recordingId}/chat`);
      assert.equal(replay.status, 200);
      const texts = (replay.body.messages as Array<{ text: string }>).map((m) => m.text);
      assert.deepEqual(texts, [hostile, 'welcome!'], 'the deleted message is gone from the history');
      const offset = replay.body.messages[0].offsetMs as number;
      assert.ok(offset > 2000, `the first message is ${offset} ms into the live`);
      const hearts = (replay.body.reactions as Array<{ counts: { heart?: number } }>).reduce(
        (sum, r) => sum + (r.counts.heart ?? 0),
        0,
      );
      assert.equal(hearts, 3);

      // The Recordings player replays the chat at the right moment: after a seek past it, before it.
      await watching.goto('/recordings');
      await watching.getByTestId('recording-title').filter({ hasText: 'Chatty show' }).click();
      const video = watching.getByTestId('player-video');
      await video.waitFor(WAIT);
      await waitFor(
        () => video.evaluate((v: HTMLVideoElement) => v.readyState >= 2 && Number.isFinite(v.duration)),
        'the recording to load',
      );
      const seek = (seconds: number) =>
        video.evaluate(
          (v: HTMLVideoElement, t: number) =>
            new Promise<void>((resolve) => {
              v.addEventListener('seeked', () => resolve(), { once: true });
              v.currentTime = t;
            }),
          seconds,
        );
      const replayed = (text: string) => watching.getByTestId('replay-message').filter({ hasText: text });
      await video.evaluate((v: HTMLVideoElement) => v.pause());
      await seek(offset / 1000 + 0.5);
      await replayed('look <b>bold</b>').waitFor(WAIT);
      assert.equal(await replayed('spam').count(), 0);
      await watching.getByTestId('player').screenshot({ path: path.join(ARTIFACTS, 'chat-replay.png') });
      await seek(Math.max(0, offset / 1000 - 1.5));
      await replayed('look <b>bold</b>').waitFor({ state: 'detached', ...WAIT });

      // Clicking a message seeks to it.
      await seek(offset / 1000 + 2);
      await replayed('look <b>bold</b>').click();
      await waitFor(
        () => video.evaluate((v: HTMLVideoElement, t: number) => Math.abs(v.currentTime - t) < 0.6, offset / 1000),
        'the click to seek to the message',
      );
    });
  },
);

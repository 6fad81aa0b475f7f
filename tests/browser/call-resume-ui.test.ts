/**
 * A call whose side's socket drops, through the UI: the call stays on, the other side sees that it is reconnecting,
 * and once the socket is back both see each other again, with no new call. One context per user.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { CUTTABLE_SOCKETS, cutSockets, expectNewFrames, restoreSockets } from '../../drivers/browser.js';
import { registerUser, type SignedInUser } from '../../drivers/http.js';
import { pipelineCount } from '../support/media.js';
import { useBrowserApp } from '../support/browserApp.js';
import { skipUnless } from '../support/services.js';
import { waitFor } from '../../drivers/wait.js';

const WAIT = { timeout: 30_000 };

describe('a call resumes through the UI', { skip: skipUnless('chromium', 'mariadb') }, () => {
  const app = useBrowserApp({ env: { RESUME_GRACE_MS: '20000' } });

  function pageOf(user: SignedInUser): Promise<Page> {
    return app.page({ user, init: [CUTTABLE_SOCKETS] });
  }

  it("B's socket drops mid-call: A sees B reconnecting, then both see each other again on the same call", async () => {
    const a = await registerUser(app.server.url);
    const b = await registerUser(app.server.url);
    const baseline = await pipelineCount(app.server);
    const pa = await pageOf(a);
    const pb = await pageOf(b);
    await pb.goto('/calls');
    await pa.goto('/calls');
    const row = pa.locator(`[data-testid="online-user"][data-nickname="${b.nickname}"]`);
    await row.waitFor(WAIT);
    await row.getByTestId('call-user').click();
    await pb.getByTestId('incoming-call').getByTestId('accept-call').click();
    for (const page of [pa, pb]) {
      await page.locator('[data-testid="call-stage"][data-state="accepted"]').waitFor(WAIT);
      await expectNewFrames(page, 'remote-video');
    }

    await cutSockets(pb);
    await pa
      .getByTestId('call-media-status')
      .filter({ hasText: `${b.nickname} is reconnecting` })
      .waitFor(WAIT);
    await pb.getByTestId('call-media-status').filter({ hasText: 'reconnecting' }).waitFor(WAIT);
    await restoreSockets(pb);
    for (const page of [pa, pb]) {
      await page
        .getByTestId('call-media-status')
        .filter({ hasText: 'reconnecting' })
        .waitFor({
          state: 'detached',
          ...WAIT,
        });
      await expectNewFrames(page, 'remote-video');
      await expectNewFrames(page, 'local-video');
      assert.equal(await page.getAttribute('[data-testid="call-stage"]', 'data-state'), 'accepted');
    }
    assert.equal(await pipelineCount(app.server), baseline + 2, 'the same two lives');

    await pa.getByTestId('hang-up').click();
    for (const page of [pa, pb]) {
      const ended = page.getByTestId('call-ended');
      await ended.waitFor(WAIT);
      assert.equal(await ended.getAttribute('data-outcome'), 'completed');
    }
    const calls = (await a.client.get('/api/calls')).body.calls as Array<{ endReason: string }>;
    assert.equal(calls.length, 1, 'one call');
    assert.equal(calls[0]?.endReason, 'hangUp');
    await waitFor(async () => (await pipelineCount(app.server)) === baseline, 'every pipeline released');
  });
});

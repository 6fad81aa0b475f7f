/**
 * A dropped connection through the UI, in real Chromium against a real server with the embedded media engine: the
 * Go live page resumes its live by itself when its socket comes back, the Watch page says the presenter is
 * reconnecting and then plays again, and the live leaves one recording.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { CUTTABLE_SOCKETS, cutSockets, expectNewFrames, restoreSockets } from '../../drivers/browser.js';
import { registerUser, type SignedInUser } from '../../drivers/http.js';
import { pipelineCount } from '../support/media.js';
import { useBrowserApp } from '../support/browserApp.js';
import { skipUnless } from '../support/services.js';
import { waitFor } from '../../drivers/wait.js';

const WAIT = { timeout: 30_000 };

describe('resuming a live through the UI', { skip: skipUnless('chromium', 'mariadb') }, () => {
  const app = useBrowserApp({ env: { RESUME_GRACE_MS: '20000' } });

  async function pageOf(user: SignedInUser, locale?: string): Promise<{ page: Page; context: BrowserContext }> {
    const page = await app.page({ user, init: [CUTTABLE_SOCKETS], ...(locale ? { locale } : {}) });
    return { page, context: page.context() };
  }

  for (const locale of ['en-US', 'zh-CN']) {
    it(`the presenter's socket drops: the watch page says so (${locale}), the live resumes by itself, one recording`, async () => {
      const presenter = await registerUser(app.server.url);
      const viewer = await registerUser(app.server.url);
      const baseline = await pipelineCount(app.server);
      const studio = await pageOf(presenter);
      await studio.page.goto('/go-live');
      await studio.page.getByTestId('live-title').fill('Commute');
      await studio.page.getByTestId('start-live').click();
      await studio.page.locator('[data-testid="live-status"][data-stage="live"]').waitFor(WAIT);
      const link = await studio.page.getByTestId('watch-link').inputValue();
      const liveId = link.split('/').pop()!;

      const watching = await pageOf(viewer, locale);
      await watching.page.goto(link);
      await watching.page.locator('[data-testid="watch-status"][data-stage="playing"]').waitFor(WAIT);
      await expectNewFrames(watching.page, 'watch-video');

      // The studio's socket is cut and cannot come back for a moment.
      await cutSockets(studio.page);
      await studio.page.getByTestId('live-reconnecting').waitFor(WAIT);
      const notice = watching.page.getByTestId('watch-presenter-reconnecting');
      await notice.waitFor(WAIT);
      const expected = locale === 'zh-CN' ? '主播正在重新连接…' : 'The presenter is reconnecting…';
      const shown = (await notice.textContent()) ?? '';
      assert.ok(shown.includes(expected), shown);
      const listed = (await presenter.client.get('/api/lives')).body.lives.map((l: { id: string }) => l.id);
      assert.ok(listed.includes(liveId), 'still listed');

      await restoreSockets(studio.page);
      await studio.page.getByTestId('live-reconnecting').waitFor({ state: 'detached', ...WAIT });
      await notice.waitFor({ state: 'detached', ...WAIT });
      assert.equal(await studio.page.getAttribute('[data-testid="live-status"]', 'data-stage'), 'live');
      await expectNewFrames(studio.page, 'preview');
      await expectNewFrames(watching.page, 'watch-video');

      await studio.page.getByTestId('stop-live').click();
      await studio.page.locator('[data-testid="live-status"][data-stage="ended"]').waitFor(WAIT);
      await watching.page.getByTestId('watch-ended').waitFor(WAIT);
      assert.equal(await app.server.server.db.Recording.count({ where: { liveId } }), 1, 'one live, one recording');
      assert.equal((await app.server.server.db.Live.findByPk(liveId))?.endReason, 'stopped');
      await waitFor(async () => (await pipelineCount(app.server)) === baseline, 'the pipeline released');
    });
  }
});

/**
 * An engine at its capacity (ENGINE_MAX_ENDPOINTS) turns a new viewer away with `media.capacity` instead of
 * degrading everyone: over socket.io (the API's error code) and on the Watch page (the message of the catalog, in
 * English and in Chinese). A place freed by a viewer who leaves can be taken again with the page's retry button.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import en from '../../front/src/i18n/en.js';
import zhCN from '../../front/src/i18n/zh-CN.js';
import { registerUser, type SignedInUser } from '../../drivers/http.js';
import { waitFor } from '../../drivers/wait.js';
import { useBrowserApp } from '../support/browserApp.js';
import { pipelineCount } from '../support/media.js';
import { skipUnless } from '../support/services.js';
import { connectSocket, errorCode, makeOffer, request, type ClientSocket } from '../support/signalling.js';

const WAIT = { timeout: 30_000 };

describe('a viewer past the engine capacity', { skip: skipUnless('chromium', 'mariadb') }, () => {
  // The presenter's endpoint and one viewer's: the engine is full.
  const app = useBrowserApp({ engineEnv: { ENGINE_MAX_ENDPOINTS: '2' } });
  const sockets: ClientSocket[] = [];
  after(() => {
    for (const socket of sockets) socket.close();
  });

  const pageOf = (user: SignedInUser, locale?: string): Promise<Page> =>
    app.page({ user, ...(locale ? { locale } : {}) });

  it('gets media.capacity from the API and a clear message on the watch page, in both languages', async () => {
    const presenter = await registerUser(app.server.url);
    const baseline = await pipelineCount(app.server);
    const studio = await pageOf(presenter);
    await studio.goto('/go-live');
    await studio.getByTestId('live-title').fill('Full house');
    await studio.getByTestId('start-live').click();
    await studio.locator('[data-testid="live-status"][data-stage="live"]').waitFor(WAIT);
    const link = await studio.getByTestId('watch-link').inputValue();
    const liveId = new URL(link).pathname.split('/').pop()!;

    // API level: the first viewer takes the last place, the next one is refused with the contract code.
    const watchOver = async (user: SignedInUser) => {
      const socket = await connectSocket(app.server.url, user.token);
      sockets.push(socket);
      const watched = await request(socket, 'viewer:watch', { liveId });
      assert.equal(watched.ok, true);
      return {
        socket,
        offered: await request(socket, 'viewer:offer', { liveId, sdpOffer: await makeOffer('viewer') }),
      };
    };
    const first = await watchOver(await registerUser(app.server.url));
    assert.equal(first.offered.ok, true);
    const refused = await watchOver(await registerUser(app.server.url));
    assert.equal(errorCode(refused.offered), 'media.capacity');

    // The watch page says so, in the viewer's language.
    for (const [locale, catalog] of [
      ['en', en],
      ['zh-CN', zhCN],
    ] as const) {
      const page = await pageOf(await registerUser(app.server.url), locale);
      await page.goto(link);
      await page.getByTestId('watch-error').waitFor(WAIT);
      assert.equal(await page.getByTestId('watch-error-message').textContent(), catalog.errors.media.capacity);
    }

    // A viewer leaves: the place is free again and the page's retry takes it.
    const viewer = await registerUser(app.server.url);
    const page = await pageOf(viewer);
    await page.goto(link);
    await page.getByTestId('watch-error').waitFor(WAIT);
    first.socket.close();
    await waitFor(
      async () => {
        const stage = await page.getByTestId('watch-status').getAttribute('data-stage');
        if (stage === 'playing') return true;
        const retry = page.getByTestId('watch-retry');
        if (await retry.isVisible()) await retry.click();
        return false;
      },
      'the retried viewer to play once a place is free',
      { timeoutMs: 30_000, intervalMs: 1000 },
    );

    await studio.getByTestId('stop-live').click();
    await studio.locator('[data-testid="live-status"][data-stage="ended"]').waitFor(WAIT);
    await waitFor(async () => (await pipelineCount(app.server)) === baseline, 'the live pipeline to be released');
  });
});

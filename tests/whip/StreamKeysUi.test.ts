import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import en from '../../front/src/i18n/en.js';
import zhCN from '../../front/src/i18n/zh-CN.js';
import { launchBrowser, newContext } from '../../drivers/browser.js';
import { registerUser, type SignedInUser } from '../../drivers/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { skipUnless } from '../support/services.js';

const WAIT = { timeout: 30_000 };

describe('the stream keys settings page', { skip: skipUnless('chromium', 'mariadb') }, () => {
  let server: TestServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  before(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
  });

  after(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await server?.close();
  });

  async function pageOf(user: SignedInUser, locale: string): Promise<Page> {
    const context = await newContext(browser, server.url, locale);
    contexts.push(context);
    await context.addInitScript(`localStorage.setItem('onair.token', ${JSON.stringify(user.token)})`);
    return context.newPage();
  }

  /** What POST /whip says of a key, without any media: 400 (garbage SDP) for a good key, 401 for a bad one. */
  const whipStatus = async (key: string) =>
    (
      await fetch(`${server.url}/whip`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/sdp' },
        body: 'v=0\r\n',
      })
    ).status;

  for (const [lang, locale, catalog] of [
    ['English', 'en-US', en],
    ['Chinese', 'zh-CN', zhCN],
  ] as const) {
    test(`in ${lang}: create a key (shown once), see it listed, rename it, revoke it`, async () => {
      const user = await registerUser(server.url);
      const page = await pageOf(user, locale);
      await page.goto('/');
      await page.getByTestId('user-menu').click();
      await page.getByTestId('nav-stream-keys').click();
      await page.waitForURL((url) => url.pathname === '/settings/stream-keys', WAIT);
      assert.equal((await page.locator('h1').textContent())?.trim(), catalog.titles.streamKeys);
      await page.getByTestId('stream-keys-empty').waitFor(WAIT);
      assert.equal(await page.getByTestId('whip-url').textContent(), `${server.url}/whip`);

      await page.getByTestId('stream-key-name').fill('OBS at home');
      await page.getByTestId('stream-key-create').click();
      const shown = page.getByTestId('stream-key-shown');
      await shown.waitFor(WAIT);
      assert.match(
        (await shown.textContent()) ?? '',
        new RegExp(catalog.streamKeys.shownOnce.replace(/[.?*+()]/g, '\\$&')),
      );
      const key = ((await page.getByTestId('stream-key-value').textContent()) ?? '').trim();
      assert.match(key, /^sk_[A-Za-z0-9_-]{43}$/);
      assert.equal(await whipStatus(key), 400, 'the key shown is the account’s');
      assert.equal(await page.getByTestId('stream-key-title').textContent(), 'OBS at home');

      // Shown once: after a reload the list has the key's name and hint, never the key.
      await page.reload();
      await page.getByTestId('stream-key').waitFor(WAIT);
      assert.equal(await page.getByTestId('stream-key-shown').count(), 0);
      assert.ok(!(await page.content()).includes(key), 'the key is not on the page any more');
      assert.match((await page.getByTestId('stream-key').textContent()) ?? '', new RegExp(key.slice(0, 7)));

      await page.getByTestId('stream-key-rename').click();
      const prompt = page.locator('.el-message-box');
      await prompt.waitFor(WAIT);
      await prompt.locator('input').fill('Studio');
      await prompt.getByRole('button', { name: catalog.streamKeys.save }).click();
      await page.getByTestId('stream-key-title').filter({ hasText: 'Studio' }).waitFor(WAIT);
      const listed = await user.client.get('/api/stream-keys');
      assert.deepEqual(
        listed.body.streamKeys.map((k: { name: string }) => k.name),
        ['Studio'],
      );

      await page.getByTestId('stream-key-revoke').click();
      const confirm = page.locator('.el-message-box');
      await confirm.getByRole('button', { name: catalog.streamKeys.revoke }).click();
      await page.getByTestId('stream-keys-empty').waitFor(WAIT);
      assert.equal(await whipStatus(key), 401, 'a revoked key goes live no more');
    });
  }
});

/**
 * The key journeys in both languages, in real Chromium (its language set on the context, as navigator.languages)
 * against a real server with the embedded media engine: the landing page, registering, Live now with "watch by live
 * ID", going live, watching (one's own live muted), logging out while live (asked first), Busy on the Call button,
 * a missed call (toast below the navigation, badge on Calls), the old call banner cleared by a new toast, a call, and
 * the language switch. Each step asserts the translated text and saves a screenshot under
 * .test-artifacts/screenshots/<lang>/.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import en from '../../front/src/i18n/en.js';
import zhCN from '../../front/src/i18n/zh-CN.js';
import { registerUser, uniqueNickname, type SignedInUser } from '../../drivers/http.js';
import { pipelineCount } from '../support/media.js';
import { useBrowserApp } from '../support/browserApp.js';
import { skipUnless } from '../support/services.js';
import { waitFor } from '../../drivers/wait.js';

const WAIT = { timeout: 30_000 };
const PASSWORD = 'correct horse battery';
const root = path.resolve(import.meta.dirname, '../..');

type Catalog = typeof en;
type Lang = { lang: 'zh-CN' | 'en'; browserLocale: string; catalog: Catalog; other: 'zh-CN' | 'en' };
const LANGS: Lang[] = [
  { lang: 'zh-CN', browserLocale: 'zh-CN', catalog: zhCN, other: 'en' },
  { lang: 'en', browserLocale: 'en-US', catalog: en, other: 'zh-CN' },
];

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A catalog message with its `{name}` parameters filled in. */
function msg(catalog: Catalog, key: string, params: Record<string, string> = {}): string {
  let node: unknown = catalog;
  for (const part of key.split('.')) node = (node as Record<string, unknown>)[part];
  assert.equal(typeof node, 'string', `no message ${key}`);
  return (node as string).replace(/\{(\w+)\}/g, (_, name: string) => params[name] ?? `{${name}}`);
}

describe('the key journeys in Chinese and in English', { skip: skipUnless('chromium', 'mariadb') }, () => {
  const app = useBrowserApp();
  const newPage = (locale: string, user?: SignedInUser): Promise<Page> => app.page({ locale, user });

  const text = async (page: Page, testid: string) => ((await page.getByTestId(testid).textContent()) ?? '').trim();
  const htmlLang = (page: Page) => page.evaluate(() => document.documentElement.lang);

  it('draws Chinese with a CJK font, not boxes (fonts-noto-cjk, installed by .ci/run)', async () => {
    const page = await newPage('zh-CN');
    await page.goto('/welcome');
    await page.getByTestId('landing-title').waitFor(WAIT);
    // Without a font for them, every CJK character is the same empty box, like a code point no font has.
    // (A string: tsx's helpers do not exist in the page.)
    const drawn = await page.evaluate<{ zhong: string; wen: string; none: string }>(`(() => {
      const font = '32px ' + getComputedStyle(document.querySelector('[data-testid="landing-title"]')).fontFamily;
      const draw = (ch) => {
        const canvas = document.createElement('canvas');
        canvas.width = 40;
        canvas.height = 40;
        const g = canvas.getContext('2d');
        g.font = font;
        g.fillText(ch, 2, 32);
        return Array.from(g.getImageData(0, 0, 40, 40).data).join(',');
      };
      return { zhong: draw('中'), wen: draw('文'), none: draw('\\u{10FFFD}') };
    })()`);
    assert.notEqual(drawn.zhong, drawn.wen, '中 and 文 are drawn differently');
    assert.notEqual(drawn.zhong, drawn.none, '中 is not the missing-glyph box');
  });

  for (const { lang, browserLocale, catalog, other } of LANGS) {
    it(`in ${lang}: landing, register, watch by ID, go live, watch, busy, missed call, call`, async () => {
      const shots = path.join(root, '.test-artifacts', 'screenshots', lang);
      mkdirSync(shots, { recursive: true });
      let shot = 0;
      const screenshot = (page: Page, name: string) =>
        page.screenshot({ path: path.join(shots, `${String(++shot).padStart(2, '0')}-${name}.png`) });
      const baseline = await pipelineCount(app.server);
      const t = (key: string, params?: Record<string, string>) => msg(catalog, key, params);

      // A signed-out visitor lands on what onair is, in the browser's language.
      const pa = await newPage(browserLocale);
      await pa.goto('/');
      await pa.waitForURL((url) => url.pathname === '/welcome', WAIT);
      assert.equal(await text(pa, 'landing-title'), t('landing.title'));
      assert.equal(await htmlLang(pa), lang);
      assert.equal(await pa.title(), `${t('titles.landing')} · onair`);
      await screenshot(pa, 'landing');

      // Registering: the form and its validation speak the language.
      await pa.getByTestId('landing-register').click();
      await pa.waitForURL((url) => url.pathname === '/register', WAIT);
      await pa.getByText(t('auth.registerTitle')).waitFor(WAIT);
      const nickname = uniqueNickname('p');
      await pa.getByTestId('nickname').fill(nickname);
      await pa.getByTestId('password').fill('short');
      await pa.getByTestId('submit').click();
      await pa.getByText(t('rules.passwordMin', { min: '8' })).waitFor(WAIT);
      await screenshot(pa, 'register-validation');
      await pa.getByTestId('password').fill(PASSWORD);
      await pa.getByTestId('submit').click();
      await pa.getByTestId('user-nickname').filter({ hasText: nickname }).waitFor(WAIT);
      assert.equal(await text(pa, 'page-title'), t('titles.liveNow'));
      assert.equal(await text(pa, 'nav-go-live'), t('nav.goLive'));
      await pa.getByTestId('lives-empty').getByText(t('live.emptyTitle')).waitFor(WAIT);

      // Watch by live ID refuses what is neither an id nor a link.
      await pa.getByTestId('watch-by-id-input').fill('not a live');
      await pa.getByTestId('watch-by-id-submit').click();
      assert.equal(await text(pa, 'watch-by-id-error'), t('live.byIdInvalid'));
      await screenshot(pa, 'live-now-empty');

      // Going live.
      await pa.getByTestId('nav-go-live').click();
      await pa
        .getByTestId('page-title')
        .filter({ hasText: t('titles.goLive') })
        .waitFor(WAIT);
      assert.equal(await text(pa, 'live-status'), t('goLive.status.idle'));
      await pa.getByTestId('live-title').fill('Tea time');
      await pa.getByTestId('start-live').click();
      await pa.locator('[data-testid="live-status"][data-stage="live"]').waitFor(WAIT);
      assert.match(await text(pa, 'live-status'), new RegExp(`^${t('goLive.status.live')} · \\d+:\\d\\d$`));
      const link = await pa.getByTestId('watch-link').inputValue();
      const liveId = link.split('/').pop()!;
      await screenshot(pa, 'go-live');

      // A viewer pastes the watch link into "watch by live ID".
      const b = await registerUser(app.server.url);
      const pb = await newPage(browserLocale, b);
      await pb.goto('/');
      await pb.locator(`[data-testid="live-card"][data-live-id="${liveId}"]`).waitFor(WAIT);
      await pb.getByTestId('watch-by-id-input').fill(`  ${link}  `);
      await pb.getByTestId('watch-by-id-submit').click();
      await pb.waitForURL((url) => url.pathname === `/live/${liveId}`, WAIT);
      await pb.locator('[data-testid="watch-status"][data-stage="playing"]').waitFor(WAIT);
      assert.equal(await text(pb, 'watch-status'), t('watch.status.playing'));
      assert.equal(await text(pb, 'watch-title'), 'Tea time');
      const oneViewer = lang === 'en' ? '1 viewer' : '1 位观众';
      await pb.getByTestId('watch-viewers').filter({ hasText: oneViewer }).waitFor(WAIT);
      assert.equal(await pb.$eval('[data-testid="watch-video"]', (v: HTMLVideoElement) => v.muted), false);
      await screenshot(pb, 'watch');

      // The presenter watching their own live hears nothing by default.
      const own = await pa.context().newPage();
      await own.goto(`/live/${liveId}`);
      await own.locator('[data-testid="watch-status"][data-stage="playing"]').waitFor(WAIT);
      assert.equal(await text(own, 'watch-own-live'), t('watch.ownLiveMuted'));
      assert.equal(await own.$eval('[data-testid="watch-video"]', (v: HTMLVideoElement) => v.muted), true);
      await screenshot(own, 'own-live-muted');
      await own.close();

      // Logging out while live asks first; staying keeps the live.
      await pa.bringToFront();
      await pa.getByTestId('user-menu').click();
      await pa.getByTestId('logout').click();
      const box = pa.locator('.el-message-box');
      await box.getByText(t('nav.logoutWhileLiveLine')).waitFor(WAIT);
      await screenshot(pa, 'logout-while-live');
      await box.getByRole('button', { name: t('goLive.leaveCancel') }).click();
      await box.waitFor({ state: 'hidden', ...WAIT });
      assert.equal(await pa.getByTestId('live-status').getAttribute('data-stage'), 'live');
      assert.ok(await pa.getByTestId('user-nickname').isVisible(), 'still signed in');

      // On Calls, the presenter is busy before anyone clicks; once the live ends, they can be called.
      await pb.getByTestId('nav-calls').click();
      await pb
        .getByTestId('page-title')
        .filter({ hasText: t('titles.calls') })
        .waitFor(WAIT);
      const row = pb.locator(`[data-testid="online-user"][data-nickname="${nickname}"]`);
      const callButton = row.getByTestId('call-user');
      await row.locator('[data-testid="call-user"][data-busy="true"]').waitFor(WAIT);
      assert.equal((await callButton.textContent())?.trim(), t('calls.busy'));
      assert.ok(await callButton.isDisabled());
      await screenshot(pb, 'calls-busy');
      await pa.getByTestId('stop-live').click();
      await pa.locator('[data-testid="live-status"][data-stage="ended"]').waitFor(WAIT);
      await row.locator('[data-testid="call-user"][data-busy="false"]').waitFor(WAIT);
      assert.equal((await callButton.textContent())?.trim(), t('calls.call'));

      // B calls and gives up: a missed call for A, with a toast below the navigation and a badge on Calls.
      await callButton.click();
      await pa.getByTestId('incoming-call').waitFor(WAIT);
      assert.equal(await text(pa, 'incoming-caller'), b.nickname);
      await pb.getByTestId('cancel-call').click();
      const banner = pb.getByTestId('call-ended');
      await banner.getByText(t('calls.ended.youCancelled')).waitFor(WAIT);
      const toast = pa.locator('.el-message').filter({ hasText: t('calls.missedToast', { nickname: b.nickname }) });
      await toast.waitFor(WAIT);
      // Once its entrance is over, the toast sits below the top navigation.
      const bar = await pa.locator('header.topbar').boundingBox();
      assert.ok(bar);
      let toastTop = -1;
      await waitFor(async () => {
        const box = await toast.boundingBox();
        toastTop = box?.y ?? -1;
        return toastTop >= bar.y + bar.height;
      }, 'the toast below the top navigation').catch(() =>
        assert.fail(`the toast's top (${toastTop}) is above the navigation's bottom (${bar.y + bar.height})`),
      );
      assert.equal(await text(pa, 'nav-missed-badge'), '1');
      await screenshot(pa, 'missed-call');

      // A opens Calls (the badge goes), calls B and gives up: B's toast replaces B's old banner.
      await pa.getByTestId('nav-calls').click();
      await pa.getByTestId('nav-missed-badge').waitFor({ state: 'detached', ...WAIT });
      const rowB = pa.locator(`[data-testid="online-user"][data-nickname="${b.nickname}"]`);
      await rowB.getByTestId('call-user').click();
      await pb.getByTestId('incoming-call').waitFor(WAIT);
      await pa.getByTestId('cancel-call').click();
      await pb
        .locator('.el-message')
        .filter({ hasText: t('calls.missedToast', { nickname }) })
        .waitFor(WAIT);
      await banner.waitFor({ state: 'detached', ...WAIT });
      assert.equal(await pb.getByTestId('nav-missed-badge').count(), 0, 'no badge on the Calls page itself');
      await screenshot(pb, 'banner-replaced-by-toast');

      // A call: B calls A, A accepts, the call runs, B hangs up.
      await pa.getByTestId('call-ended').waitFor(WAIT);
      await row.getByTestId('call-user').click();
      await pa.getByTestId('incoming-call').waitFor(WAIT);
      await pa.getByTestId('accept-call').click();
      await pa.locator('[data-testid="call-stage"][data-state="accepted"]').waitFor(WAIT);
      await pb.locator('[data-testid="call-stage"][data-state="accepted"]').waitFor(WAIT);
      assert.equal(
        await pb
          .getByTestId('hang-up')
          .textContent()
          .then((s) => s?.trim()),
        t('calls.hangUp'),
      );
      await screenshot(pb, 'call');
      // A third user sees both sides of the call as busy.
      const c = await registerUser(app.server.url);
      const pc = await newPage(browserLocale, c);
      await pc.goto('/calls');
      for (const who of [nickname, b.nickname])
        await pc
          .locator(`[data-testid="online-user"][data-nickname="${who}"] [data-testid="call-user"][data-busy="true"]`)
          .waitFor(WAIT);
      await pc.context().close();
      await pb.getByTestId('hang-up').click();
      await pb.getByTestId('call-ended').waitFor(WAIT);
      const endedText = await text(pb, 'call-ended');
      const after = new RegExp(
        `^${escapeRe(t('calls.ended.completedAfter', { other: nickname })).replace('\\{duration\\}', '\\d+:\\d\\d')}$`,
      );
      assert.ok(after.test(endedText) || endedText === t('calls.ended.completed', { other: nickname }), endedText);
      await pb.locator('[data-testid="call-entry"]').first().waitFor(WAIT);
      await screenshot(pb, 'call-ended');

      // element-plus speaks the language too (the date picker of Recordings: its weekdays).
      await pa.getByTestId('nav-recordings').click();
      await pa.locator('.filter-days input').first().click();
      const firstWeekday = pa.locator('.el-date-range-picker .el-date-table th').first();
      await firstWeekday.waitFor(WAIT);
      assert.equal((await firstWeekday.textContent())?.trim(), lang === 'zh-CN' ? '日' : 'Sun');
      await pa.keyboard.press('Escape');
      await pa.getByTestId('nav-calls').click();
      await pa
        .getByTestId('page-title')
        .filter({ hasText: t('titles.calls') })
        .waitFor(WAIT);

      // The user menu switches the language, remembered across a reload.
      await pa.getByTestId('user-menu').click();
      await pa.getByTestId(`locale-${other}`).click();
      const otherCatalog = other === 'en' ? en : zhCN;
      await pa
        .getByTestId('page-title')
        .filter({ hasText: msg(otherCatalog, 'titles.calls') })
        .waitFor(WAIT);
      assert.equal(await htmlLang(pa), other);
      await pa.reload();
      await pa
        .getByTestId('nav-go-live')
        .filter({ hasText: msg(otherCatalog, 'nav.goLive') })
        .waitFor(WAIT);
      assert.equal(await htmlLang(pa), other);
      await screenshot(pa, `switched-to-${other}`);

      await pa.context().close();
      await pb.context().close();
      await waitFor(async () => (await pipelineCount(app.server)) === baseline, 'every pipeline released', {
        timeoutMs: 30_000,
      });
    });
  }
});

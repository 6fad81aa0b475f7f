/**
 * The Recordings page in real Chromium against a real server: recordings finalised from KMS-like WebM files are
 * listed with poster, title, presenter, date, duration and location; one plays, and seeking to the middle moves
 * `currentTime` there and renders frames; filters, empty and error states; deleting one's own after confirming.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { RECORDING_TOTAL_TTL_S, type RecordingList } from '../../api/contract/rest.js';
import { newPublicId } from '../../api/db/index.js';
import { SequelizeLiveArchive } from '../../api/live/SequelizeLiveArchive.js';
import { launchBrowser, newContext } from '../../drivers/browser.js';
import type { SignedInUser } from '../../drivers/http.js';
import { skipUnless } from '../support/services.js';
import { waitFor } from '../../drivers/wait.js';
import { makeWebm, startRecordingsServer, type RecordingsServer } from './helpers/recordingsServer.js';

const WAIT = { timeout: 30_000 };
const ARTIFACTS = path.resolve('.test-artifacts');

describe('the Recordings page', { skip: skipUnless('chromium', 'mariadb', 'ffmpeg') }, () => {
  let s: RecordingsServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let ann: SignedInUser;
  let bob: SignedInUser;
  let concertId: number;

  /** A live of `user` recorded like a real KMS records (no duration, no index), ended and finalised. */
  async function recordLive(user: SignedInUser, title: string, seconds: number, location: string, minutesAgo: number): Promise<number> {
    // As the server does: finalised, then announced to every signed-in socket (`recordings:added`).
    const archive = new SequelizeLiveArchive(s.db, s.recordingsDir, (id) => s.recordings.stored(id));
    const liveId = newPublicId();
    const startedAt = new Date(Date.now() - minutesAgo * 60_000);
    await archive.liveStarted({ id: liveId, userId: user.user.id, title, kind: 'broadcast', startedAt, recording: { fileName: `${liveId}.webm`, location } });
    await makeWebm(path.join(s.recordingsDir, `${liveId}.webm`), { seconds, seekable: false });
    const id = await archive.liveEnded({
      id: liveId, startedAt, endedAt: new Date(startedAt.getTime() + seconds * 1000), reason: 'stopped', peakViewers: 1, totalViewers: 1, recordingStopped: true,
    });
    await s.recordings.finaliser.idle();
    return id!;
  }

  before(async () => {
    s = await startRecordingsServer({ db: 'mariadb' });
    browser = await launchBrowser();
    await mkdir(ARTIFACTS, { recursive: true });
    ann = await s.register('ann');
    bob = await s.register('bob');
    concertId = await recordLive(ann, 'Evening concert', 12, 'Paris, France', 90);
    await recordLive(bob, 'Morning lecture', 4, 'Lagos, Nigeria', 30);
    await recordLive(ann, 'Quick hello', 2, 'Lyon, France', 10);
  });

  after(async () => {
    await browser?.close();
    await s?.close();
  });

  beforeEach(async () => {
    context = await newContext(browser, s.url);
    page = await context.newPage();
  });

  afterEach(async () => {
    await context?.close();
  });

  async function openAs(user: SignedInUser, address = '/recordings'): Promise<void> {
    await context.addInitScript(`localStorage.setItem('onair.token', ${JSON.stringify(user.token)})`);
    await page.goto(address);
    await page.getByTestId('page-title').filter({ hasText: 'Recordings' }).waitFor(WAIT);
  }

  const titles = async () => page.getByTestId('recording-title').allTextContents();

  it('lists every recording with its poster, title, presenter, date, duration and location', async () => {
    await openAs(bob);
    await page.getByTestId('recordings-table').waitFor(WAIT);
    await waitFor(async () => (await titles()).length === 3, 'three recordings listed');
    assert.deepEqual(await titles(), ['Quick hello', 'Morning lecture', 'Evening concert'], 'newest first');
    assert.deepEqual(await page.getByTestId('recording-presenter').allTextContents(), [ann.nickname, bob.nickname, ann.nickname]);
    assert.deepEqual(await page.getByTestId('recording-duration').allTextContents(), ['0:02', '0:04', '0:12'], 'the measured durations');
    assert.deepEqual(await page.getByTestId('recording-location').allTextContents(), ['Lyon, France', 'Lagos, Nigeria', 'Paris, France']);
    const dates = await page.getByTestId('recording-date').allTextContents();
    assert.ok(dates.every((d) => /\d/.test(d)), `dates are shown: ${dates.join(' | ')}`);
    await waitFor(
      () => page.$$eval('[data-testid=poster]', (imgs) => imgs.length === 3 && imgs.every((img: any) => img.complete && img.naturalWidth > 0)),
      'the three posters loaded',
    );
    assert.equal(await page.getByTestId('delete').count(), 1, 'only bob\'s own recording can be deleted by bob');
    await page.screenshot({ path: path.join(ARTIFACTS, 'recordings-list.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'recordings-list-phone.png'), fullPage: true });
  });

  it('names the locations\' countries in the chosen language (Intl), in the list and the player', async () => {
    const zh = await newContext(browser, s.url, 'zh-CN');
    try {
      await zh.addInitScript(`localStorage.setItem('onair.token', ${JSON.stringify(bob.token)})`);
      const p = await zh.newPage();
      await p.goto('/recordings');
      await waitFor(async () => (await p.getByTestId('recording-location').allTextContents()).length === 3, 'the list in Chinese');
      assert.deepEqual(await p.getByTestId('recording-location').allTextContents(), ['法国 Lyon', '尼日利亚 Lagos', '法国 Paris']);
      await p.getByTestId('recording-title').filter({ hasText: 'Morning lecture' }).click();
      await p.getByTestId('player').getByText('尼日利亚 Lagos').waitFor(WAIT);
      await p.screenshot({ path: path.join(ARTIFACTS, 'recordings-locations-zh-CN.png') });
    } finally {
      await zh.close();
    }
  });

  it('plays a recording, and seeking to the middle moves currentTime there and renders frames', async () => {
    await openAs(bob);
    await page.getByTestId('recording-title').filter({ hasText: 'Evening concert' }).click();
    const video = page.getByTestId('player-video');
    await video.waitFor(WAIT);
    const duration = await waitFor(
      () => video.evaluate((v: any) => (v.readyState >= 2 && Number.isFinite(v.duration) ? v.duration : 0)),
      'the video to load with a finite duration',
    );
    assert.ok(Math.abs(duration - 12) < 0.5, `duration ${duration} s`);
    await waitFor(() => video.evaluate((v: any) => v.currentTime > 0.3), 'the video to play');

    const target = duration / 2;
    const landed = await video.evaluate(
      (v: any, t: number) =>
        new Promise<number>((resolve) => {
          v.addEventListener('seeked', () => resolve(v.currentTime), { once: true });
          v.currentTime = t;
        }),
      target,
    );
    assert.ok(Math.abs(landed - target) < 0.5, `seeked to ${landed} s, asked ${target} s`);

    // A frame from the middle is presented, then playback moves on from there.
    const frameTime = await video.evaluate(
      (v: any) => new Promise<number>((resolve) => v.requestVideoFrameCallback((_now: number, meta: { mediaTime: number }) => resolve(meta.mediaTime))),
    );
    assert.ok(frameTime >= target - 0.5 && frameTime < duration, `a frame at ${frameTime} s is rendered`);
    await waitFor(() => video.evaluate((v: any, t: number) => v.currentTime > t + 0.5, target), 'playback to go on from the middle');
    const colours = await video.evaluate((v: any) => {
      const canvas = v.ownerDocument.createElement('canvas');
      canvas.width = 64;
      canvas.height = 36;
      const g = canvas.getContext('2d');
      g.drawImage(v, 0, 0, 64, 36);
      const data: Uint8ClampedArray = g.getImageData(0, 0, 64, 36).data;
      const seen = new Set<number>();
      for (let i = 0; i < data.length; i += 4) seen.add((data[i]! >> 5) * 64 + (data[i + 1]! >> 5) * 8 + (data[i + 2]! >> 5));
      return seen.size;
    });
    assert.ok(colours > 5, `the frame has a picture (${colours} colours)`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'recordings-player.png') });
  });

  it('renews a link that stopped working and plays on', async () => {
    let refused = 0;
    await page.route('**/api/recordings/*/media?**', (route) =>
      refused++ === 0
        ? route.fulfill({ status: 403, contentType: 'application/json', body: JSON.stringify({ error: { code: 'recording.expiredSignature', message: 'expired' } }) })
        : route.fallback(),
    );
    const renewals: string[] = [];
    page.on('request', (request) => {
      if (/\/api\/recordings\/\d+$/.test(new URL(request.url()).pathname)) renewals.push(request.url());
    });
    await openAs(bob);
    await page.getByTestId('recording-title').filter({ hasText: 'Morning lecture' }).click();
    const video = page.getByTestId('player-video');
    await waitFor(() => video.evaluate((v: any) => v.readyState >= 2 && v.currentTime > 0.2), 'the video to play after its link was renewed');
    assert.ok(refused >= 2, 'the first load was refused, a second one went through');
    assert.equal(renewals.length, 1, 'the recording was fetched again for fresh links');
    assert.equal(await page.getByTestId('player-error').count(), 0);
  });

  it('filters the list, keeps the filters in the address, and shows an empty state that clears them', async () => {
    await openAs(bob);
    await waitFor(async () => (await titles()).length === 3, 'the list');
    await page.getByTestId('filter-q').fill('concert');
    await waitFor(async () => JSON.stringify(await titles()) === JSON.stringify(['Evening concert']), 'the title filter');
    assert.equal(new URL(page.url()).searchParams.get('q'), 'concert');

    await page.getByTestId('filter-q').fill('');
    await page.getByTestId('filter-location').fill('france');
    await waitFor(async () => JSON.stringify(await titles()) === JSON.stringify(['Quick hello', 'Evening concert']), 'the location filter');

    await page.getByTestId('filter-location').fill('');
    await page.getByTestId('filter-mine').click();
    await waitFor(async () => JSON.stringify(await titles()) === JSON.stringify(['Morning lecture']), 'only mine');

    await page.getByTestId('filter-presenter').fill('nobody_at_all');
    await page.getByTestId('library-empty').waitFor(WAIT);
    assert.match((await page.getByTestId('library-empty').textContent()) ?? '', /no recording matches/i);
    await page.screenshot({ path: path.join(ARTIFACTS, 'recordings-empty.png') });
    await page.getByTestId('clear-filters').click();
    await waitFor(async () => (await titles()).length === 3, 'every recording again');

    // A filtered address opens filtered.
    await page.goto('/recordings?sort=durationMs.asc');
    await waitFor(async () => JSON.stringify(await titles()) === JSON.stringify(['Quick hello', 'Morning lecture', 'Evening concert']), 'shortest first');
  });

  it('on a phone, folds the filters beyond the search behind a toggle that counts those in use', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await openAs(bob);
    await waitFor(async () => (await titles()).length === 3, 'the list');
    const toggle = page.getByTestId('filters-toggle');
    assert.ok(await toggle.isVisible(), 'a toggle on a phone');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    assert.ok(await page.getByTestId('filter-q').isVisible(), 'the search stays');
    assert.equal(await page.getByTestId('filter-presenter').isVisible(), false, 'the other fields are folded');
    const firstRow = await page.locator('.el-table__row').first().boundingBox();
    assert.ok(firstRow && firstRow.y < 844, `the first recording is on the first screen (at ${firstRow?.y} px)`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'recordings-phone-filters-folded.png') });

    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    await page.getByTestId('filter-location').fill('france');
    await waitFor(async () => JSON.stringify(await titles()) === JSON.stringify(['Quick hello', 'Evening concert']), 'the location filter');
    await page.screenshot({ path: path.join(ARTIFACTS, 'recordings-phone-filters-open.png') });
    await toggle.click();
    assert.equal(await page.getByTestId('filter-location').isVisible(), false, 'folded again');
    assert.equal((await toggle.textContent())?.trim(), 'Filters (1)', 'the toggle counts the filter in use');

    // On a wide screen every field shows and there is no toggle.
    await page.setViewportSize({ width: 1280, height: 800 });
    assert.equal(await toggle.isVisible(), false);
    assert.ok(await page.getByTestId('filter-presenter').isVisible());
  });

  it('shows an error with a way to try again when the library cannot be loaded', async () => {
    let fail = true;
    await page.route('**/api/recordings?**', (route) =>
      fail ? route.fulfill({ status: 500, contentType: 'application/json', body: JSON.stringify({ error: { code: 'internal', message: 'something went wrong on our side' } }) }) : route.fallback(),
    );
    await openAs(bob);
    await page.getByTestId('library-error').waitFor(WAIT);
    fail = false;
    await page.getByTestId('retry').click();
    await waitFor(async () => (await titles()).length === 3, 'the list after retrying');
    assert.equal(await page.getByTestId('library-error').count(), 0);
  });

  it('lets the owner rename and trim a recording, plays only the part kept, and makes a share link', async () => {
    await openAs(ann);
    await waitFor(async () => (await titles()).length === 3, 'the list');
    assert.equal(await page.getByTestId('edit').count(), 2, 'ann may edit her two recordings');
    await page.locator('.el-table__row', { hasText: 'Evening concert' }).getByTestId('edit').click();
    // element-plus puts a test id on an input itself, or on the element around it.
    const field = (id: string) => page.locator(`input[data-testid=${id}], [data-testid=${id}] input`).first();
    const tools = page;
    await field('tools-title').fill('Evening concert 音乐会');
    await tools.getByTestId('tools-rename').click();
    await waitFor(async () => (await titles()).includes('Evening concert 音乐会'), 'the new title in the list');
    await field('tools-trim-start').fill('4');
    await field('tools-trim-end').fill('8');
    await field('tools-trim-end').blur();
    await tools.getByTestId('tools-save-trim').click();
    await waitFor(async () => (await s.db.Recording.findByPk(concertId))?.trimEndMs === 8000, 'the trim saved');
    assert.equal((await s.db.Recording.findByPk(concertId))?.trimStartMs, 4000);
    assert.ok(await tools.getByTestId('tools-download').getAttribute('href'), 'a download link');

    await tools.getByTestId('tools-share').click();
    const shareUrl = await waitFor(
      async () => (await field('tools-share-url').inputValue()) || null,
      'the share link',
    );
    assert.match(shareUrl, /\/api\/recordings\/\d+\/share\?exp=\d+&sig=/);
    assert.equal((await fetch(shareUrl)).status, 200, 'the share link plays without an account');
    await page.keyboard.press('Escape');
    await waitFor(async () => !(await page.getByTestId('tools-rename').isVisible()), 'the dialog to close');

    await page.getByTestId('recording-title').filter({ hasText: 'Evening concert' }).click();
    await page.getByTestId('player-trim').waitFor(WAIT);
    const video = page.getByTestId('player-video');
    const first = await waitFor(
      () => video.evaluate((v: any) => (v.readyState >= 2 && v.currentTime > 0 ? v.currentTime : 0)),
      'the video to start',
    );
    assert.ok(first >= 3.9, `it starts at the trim (${first} s)`);
    const stopped = await waitFor(
      () => video.evaluate((v: any) => (v.paused && v.currentTime > 4.5 ? v.currentTime : 0)),
      'the video to stop at the end of the trim',
    );
    assert.ok(Math.abs(stopped - 8) < 0.5, `it stops at the trim's end (${stopped} s)`);
  });

  it('deletes one\'s own recording after a confirmation, and keeps it when the user changes their mind', async () => {
    await openAs(ann);
    await waitFor(async () => (await titles()).length === 3, 'the list');
    assert.equal(await page.getByTestId('delete').count(), 2, 'ann may delete her two recordings');
    const row = page.locator('.el-table__row', { hasText: 'Evening concert' });

    await row.getByTestId('delete').click();
    await page.getByRole('button', { name: 'Keep it' }).click();
    await waitFor(async () => (await page.locator('.el-message-box').count()) === 0 || !(await page.locator('.el-message-box').isVisible()), 'the confirmation to close');
    assert.ok(await s.db.Recording.findByPk(concertId), 'kept');

    await row.getByTestId('delete').click();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await waitFor(async () => JSON.stringify(await titles()) === JSON.stringify(['Quick hello', 'Morning lecture']), 'the list without it');
    assert.equal(await s.db.Recording.findByPk(concertId), null, 'deleted on the server');
  });

  it('says when a total was counted once it comes from the server\'s cache, and nothing for a fresh count', async () => {
    const answer = async (load: () => Promise<unknown>): Promise<RecordingList> => {
      const response = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/recordings');
      await load();
      return (await (await response).json()) as RecordingList;
    };
    // A new recording changes the library: the next page is counted afresh.
    await recordLive(bob, 'Late show', 2, 'Lima, Peru', 5);
    const fresh = await answer(() => openAs(ann));
    assert.equal(fresh.totalKind, 'exact');
    await waitFor(async () => (await titles()).includes('Late show'), 'the list');
    assert.equal(await page.getByTestId('total-kind').count(), 0, 'no note under a fresh count');

    // The same page again, the library unchanged: its total is the one counted a moment ago.
    const again = await answer(() => page.reload());
    assert.equal(again.totalKind, 'cached');
    assert.equal(again.totalAsOf, fresh.totalAsOf, 'counted once');
    const note = page.getByTestId('total-kind');
    await note.waitFor(WAIT);
    const seconds = /^about: counted (\d+) s ago$/.exec((await note.textContent())?.trim() ?? '')?.[1];
    assert.ok(seconds !== undefined, `the note says when: ${await note.textContent()}`);
    assert.ok(Number(seconds) <= RECORDING_TOTAL_TTL_S, 'no older than the cache keeps a total');
  });
});

describe('the Recordings page of two users at once', { skip: skipUnless('chromium', 'mariadb', 'ffmpeg') }, () => {
  let s: RecordingsServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  before(async () => {
    s = await startRecordingsServer({ db: 'mariadb' });
    browser = await launchBrowser();
  });

  after(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await s?.close();
  });

  async function open(user: SignedInUser): Promise<Page> {
    const context = await newContext(browser, s.url);
    contexts.push(context);
    await context.addInitScript(`localStorage.setItem('onair.token', ${JSON.stringify(user.token)})`);
    const page = await context.newPage();
    await page.goto('/recordings');
    await page.getByTestId('page-title').filter({ hasText: 'Recordings' }).waitFor(WAIT);
    // Set once: still there later means the page was never reloaded.
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    return page;
  }
  const titlesOf = (page: Page) => page.getByTestId('recording-title').allTextContents();
  const notReloaded = (page: Page) => page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded === true);

  it('shows another user\'s new recording and drops a deleted one from the other open list without a reload', async () => {
    const ann = await s.register('ann');
    const bob = await s.register('bob');
    const archive = new SequelizeLiveArchive(s.db, s.recordingsDir, (id) => s.recordings.stored(id));
    const record = async (title: string) => {
      const liveId = newPublicId();
      const startedAt = new Date(Date.now() - 60_000);
      await archive.liveStarted({ id: liveId, userId: ann.user.id, title, kind: 'broadcast', startedAt, recording: { fileName: `${liveId}.webm`, location: 'Paris, France' } });
      await makeWebm(path.join(s.recordingsDir, `${liveId}.webm`), { seconds: 2, seekable: false });
      return (await archive.liveEnded({
        id: liveId, startedAt, endedAt: new Date(startedAt.getTime() + 2000), reason: 'stopped', peakViewers: 0, totalViewers: 0, recordingStopped: true,
      }))!;
    };
    await record('Morning walk');
    await s.recordings.finaliser.idle();

    const bobs = await open(bob);
    const anns = await open(ann);
    await waitFor(async () => JSON.stringify(await titlesOf(bobs)) === JSON.stringify(['Morning walk']), 'bob sees ann\'s recording');

    // Ann's next live ends while bob's list is open: it appears there once finalised.
    const id = await record('Evening walk');
    await waitFor(async () => JSON.stringify(await titlesOf(bobs)) === JSON.stringify(['Evening walk', 'Morning walk']), 'the new recording in bob\'s list');
    await waitFor(async () => (await titlesOf(anns)).length === 2, 'and in ann\'s');

    // Bob plays it; ann deletes it: bob's row and player go, with no reload.
    await bobs.getByTestId('recording-title').filter({ hasText: 'Evening walk' }).click();
    await bobs.getByTestId('player-video').waitFor(WAIT);
    await anns.locator('.el-table__row', { hasText: 'Evening walk' }).getByTestId('delete').click();
    await anns.getByRole('button', { name: 'Delete', exact: true }).click();
    await waitFor(async () => JSON.stringify(await titlesOf(bobs)) === JSON.stringify(['Morning walk']), 'bob\'s list without it');
    await waitFor(async () => (await bobs.getByTestId('player-video').count()) === 0, 'bob\'s player closed');
    assert.equal(await s.db.Recording.findByPk(id), null, 'deleted on the server');
    assert.ok(await notReloaded(bobs), 'bob\'s page was not reloaded');
    assert.ok(await notReloaded(anns), 'nor ann\'s');
  });
});

describe('the Recordings page of an empty library', { skip: skipUnless('chromium', 'mariadb') }, () => {
  let s: RecordingsServer;
  let browser: Browser;

  before(async () => {
    s = await startRecordingsServer({ db: 'mariadb' });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it('invites to go live', async () => {
    const user = await s.register('new');
    const context = await newContext(browser, s.url);
    try {
      const page: Page = await context.newPage();
      await context.addInitScript(`localStorage.setItem('onair.token', ${JSON.stringify(user.token)})`);
      await page.goto('/recordings');
      const empty = page.getByTestId('library-empty');
      await empty.waitFor(WAIT);
      assert.match((await empty.textContent()) ?? '', /no recordings yet/i);
      await empty.getByRole('button', { name: /go live/i }).click();
      await page.waitForURL((url) => url.pathname === '/go-live', WAIT);
    } finally {
      await context.close();
    }
  });
});

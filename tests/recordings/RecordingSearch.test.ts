/**
 * The library at scale, on MariaDB and on SQLite alike: search in Chinese and English over the title and the
 * presenter (ranked), keyset paging with a cursor (the same rows as page numbers, for every sort, NULLs included),
 * totals that are cached and say so, and the visibility column kept right by the model.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RecordingList } from '../../api/contract/rest.js';
import { newPublicId } from '../../api/db/index.js';
import type { SignedInUser } from '../../drivers/http.js';
import { skipUnless } from '../support/services.js';
import { startRecordingsServer, type RecordingsServer } from './helpers/recordingsServer.js';

const MINUTE = 60_000;

for (const kind of ['mariadb', 'sqlite'] as const) {
  describe(`the library's search, cursors and totals on ${kind}`, { skip: kind === 'mariadb' ? skipUnless('mariadb') : false }, () => {
    let s: RecordingsServer;
    let ann: SignedInUser;
    let bob: SignedInUser;
    const base = Date.now() - 30 * 24 * 60 * MINUTE;

    async function list(viewer: SignedInUser, query: string): Promise<RecordingList> {
      const answer = await viewer.client.get<RecordingList>(`/api/recordings?${query}`);
      assert.equal(answer.status, 200, answer.text);
      return answer.body;
    }
    const titles = (body: RecordingList) => body.recordings.map((r) => r.title);

    before(async () => {
      s = await startRecordingsServer({ db: kind });
      ann = await s.register('ann');
      bob = await s.register('zhangwei');
      const rows: Array<[SignedInUser, string]> = [
        [ann, '音乐会直播'],
        [ann, '周末音乐会'],
        [bob, '直播回放：篮球比赛'],
        [bob, 'Morning concert'],
        [ann, 'Concert night: concert after concert'],
        [ann, 'Cooking lesson'],
        [bob, 'Evening lecture'],
        [ann, 'Team meeting'],
        [bob, 'Gardening'],
        [ann, 'Language class'],
      ];
      let i = 0;
      for (const [user, title] of rows) {
        await s.recording(user.user.id, { title, fileName: `${newPublicId()}.webm`, startedAt: new Date(base + i++ * MINUTE) });
      }
    });

    after(async () => {
      await s?.close();
    });

    it('finds Chinese titles by a word inside them (two characters or more)', async () => {
      assert.deepEqual(titles(await list(ann, `q=${encodeURIComponent('音乐会')}&sort=startedAt&order=asc`)), ['音乐会直播', '周末音乐会']);
      assert.deepEqual(titles(await list(ann, `q=${encodeURIComponent('直播')}&sort=startedAt&order=asc`)), ['音乐会直播', '直播回放：篮球比赛']);
      assert.deepEqual(titles(await list(ann, `q=${encodeURIComponent('篮球比赛')}`)), ['直播回放：篮球比赛']);
      assert.equal((await list(ann, `q=${encodeURIComponent('足球')}`)).total, 0);
    });

    it('finds English titles case-insensitively, and ranks the better match first', async () => {
      const body = await list(ann, 'q=CONCERT');
      assert.deepEqual(titles(body), ['Concert night: concert after concert', 'Morning concert']);
      assert.equal(body.total, 2);
      assert.deepEqual(titles(await list(ann, 'q=morning%20concert')), ['Morning concert']);
      assert.equal((await list(ann, 'q=opera')).total, 0);
    });

    it('searches the presenter\'s nickname too, with the other filters', async () => {
      const body = await list(ann, `q=${bob.nickname}&sort=startedAt&order=asc`);
      assert.deepEqual(titles(body), ['直播回放：篮球比赛', 'Morning concert', 'Evening lecture', 'Gardening']);
      assert.deepEqual(titles(await list(ann, `q=${bob.nickname}%20concert`)), ['Morning concert']);
    });

    it('keeps the search right when a title changes', async () => {
      const row = await s.recording(ann.user.id, { title: 'Rehearsal', fileName: `${newPublicId()}.webm` });
      assert.equal((await list(ann, 'q=rehearsal')).total, 1);
      await row.update({ title: '彩排 rehearsal two' });
      assert.deepEqual(titles(await list(ann, `q=${encodeURIComponent('彩排')}`)), ['彩排 rehearsal two']);
      await row.destroy();
      assert.equal((await list(ann, 'q=rehearsal')).total, 0);
    });

    it('pages by cursor through the same rows as by page number, for every sort, NULLs included', async () => {
      const extra = [];
      for (let i = 0; i < 23; i++) {
        extra.push(
          await s.recording(i % 2 ? ann.user.id : bob.user.id, {
            title: `Extra ${String.fromCharCode(97 + (i % 5))}`,
            fileName: `${newPublicId()}.webm`,
            startedAt: new Date(base + (100 + (i % 7)) * MINUTE),
            durationMs: i % 4 === 0 ? null : (i % 6) * 1000,
            location: i % 3 === 0 ? null : ['Paris, France', 'Osaka, Japan'][i % 2]!,
          }),
        );
      }
      try {
        for (const sort of ['startedAt', 'durationMs', 'title', 'location']) {
          for (const order of ['asc', 'desc']) {
            const byPage: number[] = [];
            for (let page = 1; page <= 5; page++) {
              byPage.push(...(await list(ann, `sort=${sort}&order=${order}&size=7&page=${page}`)).recordings.map((r) => r.id));
            }
            const byCursor: number[] = [];
            let cursor: string | null = null;
            let pages = 0;
            do {
              const body: RecordingList = await list(ann, `sort=${sort}&order=${order}&size=7${cursor ? `&cursor=${cursor}` : ''}`);
              byCursor.push(...body.recordings.map((r) => r.id));
              cursor = body.nextCursor;
              assert.ok(++pages <= 6, `${sort} ${order}: the cursor ends (${byCursor.length} rows)`);
            } while (cursor);
            assert.equal(byCursor.length, 33, `${sort} ${order}: every row once`);
            assert.equal(new Set(byCursor).size, 33, `${sort} ${order}: no repeats`);
            assert.deepEqual(byCursor, byPage, `${sort} ${order}`);
          }
        }
      } finally {
        for (const row of extra) await row.destroy();
      }
    });

    it('refuses a cursor of another sort, a forged one, or one given with a page', async () => {
      const first = await list(ann, 'size=3');
      assert.ok(first.nextCursor);
      for (const query of [`sort=title&cursor=${first.nextCursor}`, `cursor=${first.nextCursor}&page=2`, 'cursor=bm90IGpzb24', 'cursor=a%2Bb', 'sort=relevance']) {
        const answer = await ann.client.get(`/api/recordings?${query}`);
        assert.equal(answer.status, 400, `${query}: ${answer.text}`);
        assert.equal(answer.body.error.code, 'request.invalid');
      }
    });

    it('says whether the total was counted or cached, and counts again after a change', async () => {
      const first = await list(bob, 'presenter=' + ann.nickname);
      assert.equal(first.totalKind, 'exact');
      const again = await list(bob, 'presenter=' + ann.nickname);
      assert.equal(again.totalKind, 'cached');
      assert.equal(again.total, first.total);
      assert.equal(again.totalAsOf, first.totalAsOf);
      const row = await s.recording(ann.user.id, { title: 'One more', fileName: `${newPublicId()}.webm` });
      const after = await list(bob, 'presenter=' + ann.nickname);
      assert.equal(after.totalKind, 'exact');
      assert.equal(after.total, first.total + 1);
      await row.destroy();
    });

    it('counts each viewer\'s own calls among a search\'s many matches, and nobody else\'s', async () => {
      // More matches than a page's candidates (size 1: 54), so the totals are counted, not read off the candidates.
      const carol = await s.register('carol');
      const rows = [];
      const call = async (user: SignedInUser) =>
        s.recording(user.user.id, { title: 'Harbour call', liveId: await s.live(user.user.id, { kind: 'call' }), fileName: `${newPublicId()}.webm` });
      for (let i = 0; i < 60; i++) rows.push(await s.recording(i % 2 ? ann.user.id : bob.user.id, { title: `Harbour walk ${i}`, fileName: `${newPublicId()}.webm` }));
      for (let i = 0; i < 3; i++) rows.push(await call(ann));
      rows.push(await call(bob));
      const statements: string[] = [];
      s.db.sequelize.addHook('afterQuery', 'count-statements', (_options, query) => void statements.push(String((query as { sql?: string }).sql)));
      try {
        assert.equal((await list(carol, 'q=harbour&size=1')).total, 60, 'no calls of their own');
        assert.equal((await list(ann, 'q=harbour&size=1')).total, 63, 'their own three calls');
        assert.equal((await list(bob, 'q=harbour&size=1')).total, 61, 'their own call');
        assert.equal((await list(bob, 'q=harbour&size=1&mine=true')).total, 31, 'their 30 broadcasts and their call');
      } finally {
        s.db.sequelize.removeHook('afterQuery', 'count-statements');
        for (const row of rows) await row.destroy();
      }
      if (kind === 'sqlite') {
        // FTS5 finds every match whoever asks: one pass counts the calls of every owner, for all three viewers.
        assert.equal(statements.filter((sql) => /GROUP BY r\.userId/.test(sql)).length, 1, statements.join('\n'));
      }
    });

    it('keeps who sees a recording right as it is finished: a call\'s recording is its owner\'s only', async () => {
      const callLive = await s.live(ann.user.id, { kind: 'call' });
      const row = await s.recording(ann.user.id, { title: 'Our call', liveId: callLive, status: 'recording', fileName: `${newPublicId()}.webm` });
      assert.equal((await list(ann, 'q=our%20call')).total, 0, 'not in the library while recording');
      await row.update({ status: 'ready' });
      const statements: string[] = [];
      s.db.sequelize.addHook('afterQuery', 'count-statements', (_options, query) => void statements.push(String((query as { sql?: string }).sql)));
      const mine = await list(ann, 'q=our%20call').finally(() => s.db.sequelize.removeHook('afterQuery', 'count-statements'));
      assert.equal(mine.total, 1, 'its owner sees it');
      // Every match is among the search's candidates (shared by all viewers): they give both totals, nothing is
      // counted on its own (the page's one row is then read in full).
      assert.deepEqual(
        statements.filter((sql) => /COUNT\(/.test(sql)),
        [],
      );
      assert.equal(statements.length, 2, statements.join('\n'));
      assert.deepEqual(
        mine.recordings.map((r) => r.id),
        [row.id],
      );
      assert.deepEqual(titles(await list(bob, 'q=call')), [], 'not among the results of others');
      assert.equal((await list(bob, 'q=our%20call')).total, 0, 'others do not');
      assert.equal((await bob.client.get(`/api/recordings/${row.id}`)).status, 404);
      await assert.rejects(s.db.Recording.update({ status: 'failed' }, { where: { id: row.id } }), /shelf/);
      await row.destroy();
    });
  });
}

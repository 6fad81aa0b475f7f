/**
 * The library's cached list answers (MariaDB, two API processes sharing Redis): a new, renamed or deleted recording
 * shows on the very next request, on the server that wrote and on the other one, and an answer cached for one
 * viewer (or one session) is never handed to another.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuthResponse, RecordingList } from '../../api/contract/rest.js';
import { SHELF } from '../../api/db/Recording.js';
import { http, type SignedInUser } from '../../drivers/http.js';
import { skipUnless } from '../support/services.js';
import { startRecordingsServer, type RecordingsServer } from './helpers/recordingsServer.js';

describe('cached list answers', { skip: skipUnless('mariadb', 'redis') }, () => {
  let a: RecordingsServer;
  let b: RecordingsServer;
  let owner: SignedInUser;
  let other: SignedInUser;

  before(async () => {
    a = await startRecordingsServer({ db: 'mariadb', store: 'redis' });
    b = await startRecordingsServer({ shareWith: a.server, store: 'redis' });
    owner = await a.register('owner');
    other = await a.register('other');
  });

  after(async () => {
    await b?.close();
    await a?.close();
  });

  /** The owner's recordings as `token` sees them on `server`. */
  async function list(server: RecordingsServer, token: string, query = ''): Promise<RecordingList> {
    const answer = await http(server.url, token).get<RecordingList>(`/api/recordings?presenter=${owner.user.id}${query}`);
    assert.equal(answer.status, 200, answer.text);
    return answer.body;
  }
  const ids = (l: RecordingList) => l.recordings.map((r) => r.id);

  it('answers the same request again from the cache, and says its total is cached', async () => {
    await a.recording(owner.user.id, { title: 'cached twice' });
    const first = await list(a, other.token, '&size=7');
    const second = await list(a, other.token, '&size=7');
    assert.equal(first.totalKind, 'exact');
    assert.equal(second.totalKind, 'cached');
    assert.equal(second.totalAsOf, first.totalAsOf);
    assert.deepEqual(ids(second), ids(first));
  });

  it('shows a new recording on the next request, on the server that wrote it and on the other', async () => {
    const beforeA = await list(a, other.token);
    const beforeB = await list(b, other.token);
    const row = await a.recording(owner.user.id, { title: 'brand new', startedAt: new Date() });
    const afterA = await list(a, other.token);
    const afterB = await list(b, other.token);
    assert.ok(!ids(beforeA).includes(row.id) && !ids(beforeB).includes(row.id));
    assert.ok(ids(afterA).includes(row.id), 'the writing server shows it');
    assert.ok(ids(afterB).includes(row.id), 'the other server shows it');
    assert.equal(afterB.total, beforeB.total + 1);
  });

  it('shows a rename on the next request on the other server', async () => {
    const row = await a.recording(owner.user.id, { title: 'old name', startedAt: new Date() });
    const cached = await list(b, other.token);
    assert.equal(cached.recordings.find((r) => r.id === row.id)?.title, 'old name');
    const renamed = await owner.client.request('PATCH', `/api/recordings/${row.id}`, { body: { title: 'new name' } });
    assert.equal(renamed.status, 200, renamed.text);
    const fresh = await list(b, other.token);
    assert.equal(fresh.recordings.find((r) => r.id === row.id)?.title, 'new name');
  });

  it('drops a deleted recording on the next request on the other server', async () => {
    const row = await a.recording(owner.user.id, { title: 'to delete', startedAt: new Date() });
    const cached = await list(b, other.token);
    assert.ok(ids(cached).includes(row.id));
    assert.equal((await owner.client.delete(`/api/recordings/${row.id}`)).status, 204);
    const fresh = await list(b, other.token);
    assert.ok(!ids(fresh).includes(row.id));
    assert.equal(fresh.total, cached.total - 1);
  });

  it("never hands one viewer's cached answer to another", async () => {
    const call = await a.recording(owner.user.id, {
      title: 'a private call',
      startedAt: new Date(),
      liveId: await a.live(owner.user.id, { kind: 'call' }),
    });
    const mine = await list(a, owner.token);
    const theirs = await list(a, other.token);
    const again = await list(a, owner.token);
    assert.ok(ids(mine).includes(call.id), "the owner sees their call");
    assert.ok(!ids(theirs).includes(call.id), "nobody else sees someone's call");
    assert.ok(ids(again).includes(call.id));
    const shared = mine.recordings.find((r) => r.id !== call.id)!;
    const seen = theirs.recordings.find((r) => r.id === shared.id)!;
    assert.equal(shared.mine, true);
    assert.equal(seen.mine, false);
    assert.ok(shared.downloadUrl);
    assert.equal(seen.downloadUrl, null, 'no download link for someone else');
    assert.notEqual(seen.mediaUrl, shared.mediaUrl, "each viewer's URLs are signed for their own session");
  });

  it("reads everyone's part of a page once for all viewers, and merges each viewer's own calls into their copy", async () => {
    const x = await a.register('x');
    const y = await a.register('y');
    const t0 = Date.now() + 3_600_000; // newer than every row of the other tests
    for (let i = 0; i < 3; i++) await a.recording(owner.user.id, { title: `public ${i}`, startedAt: new Date(t0 + i * 10_000) });
    const call = async (who: SignedInUser, at: number) =>
      a.recording(who.user.id, { title: 'own call', startedAt: new Date(t0 + at), liveId: await a.live(who.user.id, { kind: 'call' }) });
    const xCall = await call(x, 15_000); // between public 1 and public 2
    const yCall = await call(y, 5_000); // between public 1 and public 0
    const sqls: string[] = [];
    const hook = 'list-cache-test';
    // afterQuery: the query knows its SQL (replacements inlined) once it has run.
    a.db.sequelize.addHook('afterQuery', hook, (_options, query) => void sqls.push(String((query as unknown as { sql?: string }).sql ?? '')));
    const page = async (who: SignedInUser) => {
      sqls.length = 0;
      const answer = await http(a.url, who.token).get<RecordingList>('/api/recordings?size=4');
      assert.equal(answer.status, 200, answer.text);
      return { list: answer.body, sqls: [...sqls] };
    };
    // What reads everyone's shelf for the page or its total (the other shelves name their owner).
    const everyone = (list: string[]) => list.filter((sql) => new RegExp(`WHERE r\\.shelf = ${SHELF.everyone}\\b`).test(sql));
    try {
      const seenByX = await page(x);
      const seenByY = await page(y);
      assert.ok(everyone(seenByX.sqls).length > 0, `the first viewer reads everyone's shelf: ${seenByX.sqls.join('\n')}`);
      assert.deepEqual(everyone(seenByY.sqls), [], "the second viewer is served everyone's part read for the first");
      const titles = (l: RecordingList) => l.recordings.map((r) => `${r.title}${r.mine ? ' (mine)' : ''}`);
      assert.deepEqual(titles(seenByX.list), ['public 2', 'own call (mine)', 'public 1', 'public 0']);
      assert.deepEqual(titles(seenByY.list), ['public 2', 'public 1', 'own call (mine)', 'public 0']);
      assert.equal(seenByX.list.recordings[1]!.id, xCall.id);
      assert.equal(seenByY.list.recordings[2]!.id, yCall.id);
      assert.equal(seenByX.list.total, seenByY.list.total, 'one private call each on top of the same public rows');
      // The viewer's own calls are filtered and paged like everyone's rows (from, to, durations, cursors).
      const filtered = async (who: SignedInUser, query: string) => {
        const answer = await http(a.url, who.token).get<RecordingList>(`/api/recordings?${query}`);
        assert.equal(answer.status, 200, answer.text);
        return answer.body;
      };
      const since = (ms: number) => `from=${encodeURIComponent(new Date(t0 + ms).toISOString())}`;
      assert.deepEqual(titles(await filtered(x, `${since(15_000)}&size=4`)), ['public 2', 'own call (mine)']);
      assert.deepEqual(titles(await filtered(x, `${since(15_001)}&size=4`)), ['public 2']);
      assert.equal((await filtered(x, `${since(15_000)}&size=4`)).total, 2);
      assert.deepEqual(titles(await filtered(x, `${since(0)}&to=${encodeURIComponent(new Date(t0 + 15_000).toISOString())}&sort=startedAt&order=asc`)), ['public 0', 'public 1']);
      assert.deepEqual(titles(await filtered(y, `${since(0)}&maxDurationMs=5999`)), []);
      assert.deepEqual(titles(await filtered(y, `${since(0)}&minDurationMs=6000&maxDurationMs=6000&sort=durationMs`)).length, 4);
      const walked: string[] = [];
      let next: string | null = '';
      while (next !== null) {
        const step: RecordingList = await filtered(x, `${since(0)}&size=1${next ? `&cursor=${next}` : ''}`);
        walked.push(...titles(step));
        next = step.nextCursor;
      }
      assert.deepEqual(walked, titles(seenByX.list), 'a cursor walks through the same rows as one page');
      // After a write, everyone's part is read again.
      await a.recording(owner.user.id, { title: 'public 3', startedAt: new Date(t0 + 30_000) });
      const again = await page(y);
      assert.ok(everyone(again.sqls).length > 0);
      assert.equal(again.list.recordings[0]!.title, 'public 3');
    } finally {
      a.db.sequelize.removeHook('afterQuery', hook);
    }
  });

  it("signs a cached answer for each session's own: a second session's links are not the first's", async () => {
    const login = await http(a.url).post<AuthResponse>('/api/auth/login', { nickname: other.nickname, password: other.password });
    assert.equal(login.status, 200, login.text);
    const one = await list(a, other.token, '&size=3');
    const two = await list(a, login.body.token, '&size=3');
    const sid = (url: string) => new URL(url, a.url).searchParams.get('sid');
    assert.equal(two.totalKind, 'cached', 'the second session was served the cached rows');
    assert.deepEqual(ids(two), ids(one));
    assert.notEqual(sid(two.recordings[0]!.mediaUrl), sid(one.recordings[0]!.mediaUrl));
    // Logging the first session out kills its links, not the second's.
    assert.equal((await http(a.url, other.token).post('/api/auth/logout')).status, 204);
    assert.equal((await http(a.url, other.token).get('/api/recordings')).status, 401);
    const still = await list(b, login.body.token, '&size=3');
    assert.equal(sid(still.recordings[0]!.mediaUrl), sid(two.recordings[0]!.mediaUrl));
  });
});

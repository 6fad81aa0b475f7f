/**
 * The library's cached list answers (MariaDB, two API processes sharing Redis): a new, renamed or deleted recording
 * shows on the very next request, on the server that wrote and on the other one, and an answer cached for one
 * viewer (or one session) is never handed to another.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuthResponse, RecordingList } from '../../api/contract/rest.js';
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

/**
 * The library's listing on MariaDB over a seeded data set of a few thousand recordings: every filter, paging and
 * sorting checked against the same query computed in JavaScript; validation of every parameter (clear 400s,
 * never a SQL error) and injection attempts through the query string.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RecordingList, RecordingView } from '../../api/contract/rest.js';
import { newPublicId } from '../../api/db/index.js';
import { recordingListQuerySchema } from '../../api/recordings/RecordingQuery.js';
import type { SignedInUser } from '../../drivers/http.js';
import { skipUnless } from '../support/services.js';
import { startRecordingsServer, type RecordingsServer } from './helpers/recordingsServer.js';

const ROWS = 3000;
const LOCATIONS = ['Paris, France', 'Lyon, France', 'Berlin, Germany', 'Lagos, Nigeria', 'Osaka, Japan', '100% Live_Studio', null];
const WORDS = ['morning', 'evening', 'concert', 'lecture', 'review', 'match', 'podcast', 'workshop'];
const STATUSES = ['ready', 'ready', 'ready', 'ready', 'ready', 'ready', 'ready', 'ready', 'incomplete', 'failed', 'recording'] as const;
const DAY = 86_400_000;
/** The data set starts at midnight UTC 200 days before the run (it spans about 77 days): relative to the clock, so
 * every date below means the same on any day the suite runs. */
const BASE = Math.floor(Date.now() / DAY) * DAY - 200 * DAY;
/** `YYYY-MM-DD` of the day `days` after BASE. */
const dayOf = (days: number): string => new Date(BASE + days * DAY).toISOString().slice(0, 10);
/** BASE + ms as an ISO date-time with a UTC offset of +02:00 (the same instant, written as a wall clock two hours ahead). */
const plus2h = (ms: number): string => `${new Date(BASE + ms + 2 * 3_600_000).toISOString().slice(0, 19)}+02:00`;

interface Seeded {
  id: number;
  userId: number;
  title: string;
  startedAt: number;
  durationMs: number;
  location: string | null;
  status: string;
  call: boolean;
}

/** A small deterministic PRNG, so that the data set is the same on every run. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('GET /api/recordings on MariaDB with a few thousand recordings', { skip: skipUnless('mariadb') }, () => {
  let s: RecordingsServer;
  let users: SignedInUser[];
  let seeded: Seeded[];
  const byNickname = (u: SignedInUser) => u.nickname;

  before(async () => {
    s = await startRecordingsServer({ db: 'mariadb' });
    users = [await s.register('ann'), await s.register('bob'), await s.register('cyd'), await s.register('dee')];
    const callLive = await s.live(users[0]!.user.id, { kind: 'call', title: 'a call' });
    const broadcastLive = await s.live(users[1]!.user.id, { title: 'a broadcast' });
    const random = mulberry32(42);
    const rows = Array.from({ length: ROWS }, (_, i) => {
      const user = users[Math.floor(random() * users.length)]!;
      const call = i % 250 === 7;
      return {
        userId: call ? users[0]!.user.id : user.user.id,
        liveId: call ? callLive : i % 250 === 8 ? broadcastLive : null,
        title: `${WORDS[Math.floor(random() * WORDS.length)]} ${String(i).padStart(4, '0')}`,
        fileName: `seed-${i}-${newPublicId()}.webm`,
        startedAt: new Date(BASE + i * 37 * 60_000 + Math.floor(random() * 60_000)),
        durationMs: Math.floor(random() * 3 * 3600_000),
        location: LOCATIONS[Math.floor(random() * LOCATIONS.length)]!,
        status: STATUSES[Math.floor(random() * STATUSES.length)]!,
        sizeBytes: 1000 + i,
        posterFileName: i % 3 === 0 ? null : `seed-${i}.jpg`,
      };
    });
    await s.db.Recording.bulkCreate(rows);
    const stored = await s.db.Recording.findAll({ order: [['id', 'ASC']] });
    seeded = stored.map((r, i) => ({
      id: r.id, userId: r.userId, title: r.title, startedAt: r.startedAt.getTime(), durationMs: r.durationMs!, location: r.location,
      status: r.status, call: rows[i]!.liveId === callLive,
    }));
  });

  after(async () => {
    await s?.close();
  });

  type Filters = Partial<Record<'from' | 'to' | 'minDurationMs' | 'maxDurationMs' | 'location' | 'q' | 'mine' | 'sort' | 'order', string>> & { presenterIds?: number[] };

  const nicknameOf = (userId: number) => users.find((u) => u.user.id === userId)!.nickname;
  /** MariaDB's search, in JavaScript: every word of `q` begins a word of the title or the nickname. */
  const words = (text: string) => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const searchMatches = (q: string, text: string) =>
    words(q).length > 0 && words(q).every((w) => words(text).some((t) => t.startsWith(w)));

  /** The list query computed in JavaScript, as `viewer` sees it. */
  function expected(viewer: SignedInUser, f: Filters = {}): Seeded[] {
    const sort = (f.sort ?? 'startedAt') as keyof Seeded;
    const dir = f.order === 'asc' ? 1 : -1;
    const cmp = (a: Seeded, b: Seeded) => {
      const x = a[sort], y = b[sort];
      // MariaDB: NULL is the smallest value; text compares case-insensitively.
      const xv = typeof x === 'string' ? x.toLowerCase() : x;
      const yv = typeof y === 'string' ? y.toLowerCase() : y;
      if (xv !== yv) {
        if (xv === null) return -dir;
        if (yv === null) return dir;
        return (xv < yv ? -1 : 1) * dir;
      }
      // Same location: by start time (the index's order), then by id.
      if (sort === 'location' && a.startedAt !== b.startedAt) return (a.startedAt - b.startedAt) * dir;
      return (a.id - b.id) * dir;
    };
    return seeded
      .filter((r) => r.status === 'ready' || r.status === 'incomplete')
      .filter((r) => !r.call || r.userId === viewer.user.id)
      .filter((r) => !f.from || r.startedAt >= Date.parse(f.from))
      .filter((r) => !f.to || r.startedAt < Date.parse(f.to))
      .filter((r) => !f.minDurationMs || r.durationMs >= Number(f.minDurationMs))
      .filter((r) => !f.maxDurationMs || r.durationMs <= Number(f.maxDurationMs))
      .filter((r) => !f.location || (r.location ?? '').toLowerCase().includes(f.location.toLowerCase()))
      .filter((r) => !f.q || searchMatches(f.q, `${r.title} ${nicknameOf(r.userId)}`))
      .filter((r) => f.mine !== 'true' || r.userId === viewer.user.id)
      .filter((r) => !f.presenterIds || f.presenterIds.includes(r.userId))
      .sort(cmp);
  }

  async function list(viewer: SignedInUser, query: string): Promise<RecordingList> {
    const answer = await viewer.client.get<RecordingList>(`/api/recordings${query ? `?${query}` : ''}`);
    assert.equal(answer.status, 200, answer.text);
    return answer.body;
  }

  async function expectPage(viewer: SignedInUser, f: Filters, page: number, size: number, extra = ''): Promise<RecordingList> {
    const { presenterIds: _, ...params } = f;
    const query = new URLSearchParams({ ...params, page: String(page), size: String(size) }).toString() + extra;
    const body = await list(viewer, query);
    const all = expected(viewer, f);
    assert.equal(body.total, all.length, `total for ${query}`);
    assert.equal(body.page, page);
    assert.equal(body.size, size);
    assert.deepEqual(body.recordings.map((r) => r.id), all.slice((page - 1) * size, page * size).map((r) => r.id), `ids for ${query}`);
    return body;
  }

  it('lists the newest first, 20 a page by default, with the total over all pages', async () => {
    const viewer = users[1]!;
    const body = await list(viewer, '');
    const all = expected(viewer);
    assert.equal(body.page, 1);
    assert.equal(body.size, 20);
    assert.equal(body.total, all.length);
    assert.ok(all.length > 2000, 'the data set is a few thousand visible recordings');
    assert.deepEqual(body.recordings.map((r) => r.id), all.slice(0, 20).map((r) => r.id));
  });

  it('pages through a filtered library without gaps or repeats, and past the end is an empty page', async () => {
    const viewer = users[2]!;
    const f: Filters = { mine: 'true', sort: 'title', order: 'asc' };
    const all = expected(viewer, f);
    const seen: number[] = [];
    for (let page = 1; page <= Math.ceil(all.length / 100); page++) {
      seen.push(...(await expectPage(viewer, f, page, 100)).recordings.map((r) => r.id));
    }
    assert.deepEqual(seen, all.map((r) => r.id));
    const beyond = await expectPage(viewer, f, Math.ceil(all.length / 100) + 1, 100);
    assert.equal(beyond.recordings.length, 0);
  });

  it('filters by start time: from (inclusive) to (exclusive), dates or date-times', async () => {
    await expectPage(users[0]!, { from: dayOf(9), to: dayOf(19) }, 1, 50);
    await expectPage(users[0]!, { from: new Date(BASE + 31 * DAY + 12.5 * 3_600_000).toISOString() }, 2, 30);
    await expectPage(users[0]!, { to: plus2h(2 * DAY + 6 * 3_600_000) }, 1, 100);
    const none = await expectPage(users[0]!, { from: new Date(Date.now() + 365 * DAY).toISOString().slice(0, 10) }, 1, 10);
    assert.equal(none.total, 0);
  });

  it('filters by duration in milliseconds, both bounds inclusive', async () => {
    await expectPage(users[0]!, { minDurationMs: '3600000' }, 1, 25);
    await expectPage(users[0]!, { maxDurationMs: '600000', sort: 'durationMs', order: 'asc' }, 1, 25);
    await expectPage(users[0]!, { minDurationMs: '1800000', maxDurationMs: '2700000', sort: 'durationMs' }, 3, 10);
  });

  it('filters by text in the location or the title, case-insensitively, % and _ being plain characters', async () => {
    await expectPage(users[0]!, { location: 'france' }, 1, 40);
    await expectPage(users[0]!, { location: 'OSAKA' }, 2, 40);
    const percent = await expectPage(users[0]!, { location: '100%' }, 1, 20);
    assert.ok(percent.total > 0 && percent.recordings.every((r) => r.location === '100% Live_Studio'));
    const underscore = await expectPage(users[0]!, { location: 'e_s' }, 1, 20);
    assert.ok(underscore.recordings.every((r) => r.location === '100% Live_Studio'));
    assert.equal((await expectPage(users[0]!, { location: '%' }, 1, 10)).total, expected(users[0]!, { location: '%' }).length);
    await expectPage(users[0]!, { q: 'concert', sort: 'startedAt' }, 1, 20);
    await expectPage(users[0]!, { q: 'CONC 01', sort: 'startedAt' }, 1, 20);
    await expectPage(users[0]!, { q: 'cert', sort: 'startedAt' }, 1, 20);
    // q searches the presenter's nickname too.
    const byBob = await expectPage(users[0]!, { q: users[1]!.nickname, sort: 'title', order: 'asc' }, 2, 20);
    assert.ok(byBob.total > 0 && byBob.recordings.every((r) => r.presenter.id === users[1]!.user.id));
  });

  it('filters by presenter: a nickname in any case or a user id; an unknown presenter matches nothing', async () => {
    const [ann, bob] = users as [SignedInUser, SignedInUser];
    await expectPage(ann, { presenterIds: [bob.user.id] }, 1, 30, `&presenter=${bob.nickname.toUpperCase()}`);
    await expectPage(ann, { presenterIds: [bob.user.id] }, 2, 30, `&presenter=${bob.user.id}`);
    const nobody = await expectPage(ann, { presenterIds: [] }, 1, 30, '&presenter=nobody_here');
    assert.equal(nobody.total, 0);
    assert.equal((await expectPage(ann, { presenterIds: [] }, 1, 30, '&presenter=999999')).total, 0);
  });

  it('mine=true lists only the caller\'s own recordings, and marks them mine', async () => {
    const viewer = users[3]!;
    const body = await expectPage(viewer, { mine: 'true' }, 1, 100);
    assert.ok(body.recordings.length > 0 && body.recordings.every((r) => r.mine && r.presenter.id === viewer.user.id));
    const all = await list(viewer, 'size=100');
    assert.ok(all.recordings.some((r) => !r.mine), 'others\' recordings are not mine');
  });

  it('sorts by every whitelisted column, both ways, ties broken by start time (location) and id', async () => {
    for (const sort of ['startedAt', 'durationMs', 'title', 'location']) {
      for (const order of ['asc', 'desc']) await expectPage(users[1]!, { sort, order }, 2, 50);
    }
  });

  it('combines filters', async () => {
    const bob = users[1]!;
    await expectPage(users[0]!, {
      from: dayOf(14), to: dayOf(59), minDurationMs: '600000', location: 'france', sort: 'durationMs', order: 'asc', presenterIds: [bob.user.id],
    }, 1, 10, `&presenter=${bob.nickname}`);
  });

  it('shows finished recordings only, and a call\'s recording to its owner only', async () => {
    const [ann, bob] = users as [SignedInUser, SignedInUser];
    const annSees = await list(ann, 'mine=true&size=100&q=0007');
    assert.ok(annSees.recordings.some((r) => r.title.endsWith('0007')) || seeded.find((r) => r.title.endsWith(' 0007'))!.status !== 'ready');
    const callRows = seeded.filter((r) => r.call && (r.status === 'ready' || r.status === 'incomplete'));
    assert.ok(callRows.length > 0, 'the data set has visible call recordings');
    for (const row of callRows) {
      assert.equal((await ann.client.get(`/api/recordings/${row.id}`)).status, 200);
      const other = await bob.client.get(`/api/recordings/${row.id}`);
      assert.equal(other.status, 404);
      assert.equal(other.body.error.code, 'recording.notFound');
    }
    for (const row of seeded.filter((r) => r.status === 'failed' || r.status === 'recording').slice(0, 5)) {
      const answer = await ann.client.get(`/api/recordings/${row.id}`);
      assert.equal(answer.status, 404, `a ${row.status} recording is not in the library`);
    }
  });

  it('gives each recording its presenter, figures and signed media and poster URLs', async () => {
    const viewer = users[0]!;
    const body = await list(viewer, 'size=30');
    for (const r of body.recordings) {
      const row = seeded.find((x) => x.id === r.id)!;
      const presenter = users.find((u) => u.user.id === row.userId)!;
      assert.deepEqual(r.presenter, { id: presenter.user.id, nickname: byNickname(presenter), avatarUrl: `/api/users/${presenter.user.id}/avatar.svg` });
      assert.equal(r.title, row.title);
      assert.equal(r.startedAt, new Date(row.startedAt).toISOString());
      assert.equal(r.durationMs, row.durationMs);
      assert.match(r.mediaUrl, new RegExp(`^/api/recordings/${r.id}/media\\?exp=\\d+&sid=[A-Za-z0-9_-]{22}&sig=[A-Za-z0-9_-]{43}$`));
      if (r.posterUrl !== null) assert.match(r.posterUrl, new RegExp(`^/api/recordings/${r.id}/poster\\?exp=\\d+&sid=[A-Za-z0-9_-]{22}&sig=[A-Za-z0-9_-]{43}$`));
      assert.ok(Date.parse(r.urlsExpireAt) > Date.now());
    }
    assert.ok(body.recordings.some((r) => r.posterUrl === null) && body.recordings.some((r) => r.posterUrl !== null));
  });

  it('GET /api/recordings/:id answers one recording as the list does', async () => {
    const viewer = users[0]!;
    const [first] = (await list(viewer, 'size=1')).recordings as [RecordingView];
    const one = await viewer.client.get<RecordingView>(`/api/recordings/${first.id}`);
    assert.equal(one.status, 200);
    assert.deepEqual(one.body, first);
    assert.equal(one.headers.get('cache-control'), 'no-store');
  });

  it('refuses a caller without a session', async () => {
    const answer = await s.server.http.get('/api/recordings');
    assert.equal(answer.status, 401);
    assert.equal(answer.body.error.code, 'auth.required');
    assert.equal((await s.server.http.get('/api/recordings/1')).status, 401);
    assert.equal((await s.server.http.delete('/api/recordings/1')).status, 401);
  });

  const BAD_QUERIES: Array<[string, string]> = [
    ['size=0', 'a page of nothing'],
    ['size=101', 'a page above the maximum'],
    ['size=abc', 'a size that is not a number'],
    ['size=1.5', 'a fractional size'],
    ['size=-1', 'a negative size'],
    ['size=1e2', 'a size in exponent notation'],
    ['size= 10', 'a size with a space'],
    ['page=0', 'page zero'],
    ['page=99999999999', 'an enormous page'],
    ['size[$gt]=1', 'an operator object where a number is expected'],
    ['size[]=1', 'an array where a number is expected'],
    ['size=1&size=2', 'a repeated size'],
    ['sort[]=title', 'an array where a column is expected'],
    ['sort=title&sort=location', 'a repeated sort'],
    ['sort=password', 'an unknown sort column'],
    ['sort=passwordHash', 'a column of another table'],
    ['sort=id', 'a column that is not in the whitelist'],
    ['sort=startedAt%3BDROP%20TABLE%20recordings', 'SQL in the sort column'],
    ['sort=startedAt%20DESC%2C%20(SELECT%201)', 'an expression in the sort column'],
    ['order=up', 'an unknown order'],
    ['order=desc%3B--', 'SQL in the order'],
    ['from=yesterday', 'a date that is not ISO 8601'],
    ['from=2025-13-01', 'a month that does not exist'],
    [`from=${dayOf(31)}&to=${dayOf(0)}`, 'a time range that ends before it starts'],
    ['minDurationMs=10&maxDurationMs=5', 'a duration range that ends before it starts'],
    ['minDurationMs=1.5', 'a fractional duration'],
    ['maxDurationMs=99999999999', 'a duration out of range'],
    ['mine=yes', 'a boolean that is not true or false'],
    ['mine[$ne]=1', 'an operator object where a boolean is expected'],
    ["presenter=x'%20OR%20'1'%3D'1", 'SQL in the presenter'],
    [`location=${'x'.repeat(101)}`, 'a location filter that is too long'],
    ['location=%20%20', 'a blank location filter'],
    ['location[$like]=%25', 'an operator object where a text is expected'],
    ['where[userId]=1', 'a where clause'],
    ['foo=1', 'an unknown parameter'],
    ['__proto__[admin]=1', 'a prototype key'],
  ];

  for (const [query, what] of BAD_QUERIES) {
    it(`answers 400 request.invalid for ${what} (?${query.slice(0, 40)})`, async () => {
      const answer = await users[0]!.client.get(`/api/recordings?${query}`);
      assert.equal(answer.status, 400, answer.text);
      assert.equal(answer.body.error.code, 'request.invalid');
      assert.match(answer.body.error.message, /^query/);
      assert.doesNotMatch(answer.text, /SQL|syntax|ER_|sequelize|DROP/i);
    });
  }

  it('rejects operator objects and arrays even from a parser that builds them (qs-style)', () => {
    for (const query of [{ size: { $gt: '1' } }, { sort: ['title'] }, { mine: { $ne: '1' } }, { location: { $like: '%' } }, { page: 2 }]) {
      assert.equal(recordingListQuerySchema.safeParse(query).success, false, JSON.stringify(query));
    }
  });

  it('treats injection attempts in text filters as plain text, and the table survives them', async () => {
    const viewer = users[0]!;
    for (const text of ["' OR '1'='1", '"; DROP TABLE recordings; --', '\\', "') UNION SELECT passwordHash FROM users --", '%%', '_']) {
      const query = new URLSearchParams({ location: text, q: text, sort: 'startedAt' }).toString();
      const body = await list(viewer, query);
      assert.equal(body.total, expected(viewer, { location: text, q: text }).length, text);
    }
    assert.equal(await s.db.Recording.count(), ROWS);
  });

  it('answers 400 for ids that are not recording ids, 404 for one that does not exist', async () => {
    const viewer = users[0]!;
    for (const id of ['abc', '1.5', '-1', '0', '01', '1e3', '0x10', '99999999999', '2147483648', '%20', '1%3B', 'null', '%00', '1%00']) {
      const answer = await viewer.client.get(`/api/recordings/${id}`);
      assert.equal(answer.status, 400, `${id}: ${answer.text}`);
      assert.equal(answer.body.error.code, 'request.invalid');
    }
    const missing = await viewer.client.get('/api/recordings/2147483647');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'recording.notFound');
  });
});

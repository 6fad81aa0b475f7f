/**
 * The library's query: `GET /api/recordings` parameters validated by zod (scalars only, bounded, no unknown
 * keys), then turned into SQL built from whitelisted columns (listQuery). Request values only ever reach the
 * database as bound values, never as column names, operators or SQL.
 */
import { z } from 'zod';
import { OnairError } from '../contract/errors.js';
import { SHELF } from '../db/Recording.js';
import { booleanQuery, queryTerms } from './searchText.js';
import {
  NICKNAME_MAX, NICKNAME_PATTERN, RECORDING_PAGE_SIZE_DEFAULT, RECORDING_PAGE_SIZE_MAX, RECORDING_SORTS,
  type RecordingSort,
  type RecordingStatus,
} from '../contract/rest.js';

/** Statuses the library shows: finished recordings, whole or cut short. */
export const LIBRARY_STATUSES: readonly RecordingStatus[] = ['ready', 'incomplete'];

const INT32_MAX = 2_147_483_647;
const PAGE_MAX = 1_000_000;

/** An empty parameter (`?location=`) counts as absent. */
const optional = <T extends z.ZodTypeAny>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const whole = (min: number, max: number) =>
  z.string().regex(/^\d{1,10}$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(min).max(max));

/** `2025-03-30` (midnight UTC) or an ISO 8601 date-time with its offset (`2025-03-30T10:00:00Z`). */
const instant = z
  .string()
  .max(40)
  .refine((s) => /^\d{4}-\d{2}-\d{2}$/.test(s) || z.string().datetime({ offset: true }).safeParse(s).success, 'must be an ISO 8601 date or date-time')
  .transform((s) => new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00.000Z` : s))
  .refine((d) => !Number.isNaN(d.getTime()), 'must be a valid date');

const text = (max: number) => z.string().trim().min(1, 'must not be blank').max(max, `must be at most ${max} characters`);

export const recordingListQuerySchema = z
  .object({
    page: optional(whole(1, PAGE_MAX)),
    size: optional(whole(1, RECORDING_PAGE_SIZE_MAX)),
    from: optional(instant),
    to: optional(instant),
    minDurationMs: optional(whole(0, INT32_MAX)),
    maxDurationMs: optional(whole(0, INT32_MAX)),
    location: optional(text(100)),
    q: optional(text(200)),
    presenter: optional(z.string().regex(/^\d{1,10}$|^[A-Za-z0-9_.-]+$/, 'must be a nickname or a user id').max(NICKNAME_MAX)),
    mine: optional(z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')),
    sort: optional(z.enum(RECORDING_SORTS, { errorMap: () => ({ message: `must be one of ${RECORDING_SORTS.join(', ')}` }) })),
    order: optional(z.enum(['asc', 'desc'], { errorMap: () => ({ message: 'must be asc or desc' }) })),
    cursor: optional(z.string().max(400).regex(/^[A-Za-z0-9_-]+$/, 'must be a nextCursor of a previous page')),
  })
  .strict('unknown query parameter')
  .superRefine((q, ctx) => {
    if (q.from && q.to && q.from.getTime() > q.to.getTime()) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['from'], message: 'must not be after to' });
    }
    if (q.minDurationMs !== undefined && q.maxDurationMs !== undefined && q.minDurationMs > q.maxDurationMs) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['minDurationMs'], message: 'must not be more than maxDurationMs' });
    }
    if (q.sort === 'relevance' && !q.q) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['sort'], message: 'relevance needs a search (q)' });
    }
    if (q.cursor && q.page !== undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['cursor'], message: 'must not be given with page' });
    }
  })
  .transform((q) => ({
    ...q,
    page: q.page ?? 1,
    size: q.size ?? RECORDING_PAGE_SIZE_DEFAULT,
    mine: q.mine ?? false,
    sort: q.sort ?? ((q.q ? 'relevance' : 'startedAt') as RecordingSort),
    order: q.order ?? ('desc'),
  }));

/** A validated list query, defaults applied. */
export type RecordingFilters = z.output<typeof recordingListQuerySchema>;

/** Presenter ids a `presenter` parameter may mean: the id it spells, and the user with that nickname. */
export function presenterCandidates(presenter: string): { id: number | null; nickname: string | null } {
  const id = /^\d{1,10}$/.test(presenter) && Number(presenter) <= INT32_MAX ? Number(presenter) : null;
  const nickname = NICKNAME_PATTERN.test(presenter) ? presenter : null;
  return { id, nickname };
}

export type Dialect = 'mysql' | 'sqlite';

/**
 * A date as a bound value, with its milliseconds (a Date bound as a replacement loses them): as the column stores
 * it, `2025-03-30 10:00:00.123` on MySQL, `2025-03-30 10:00:00.123 +00:00` on SQLite (Sequelize's format).
 */
export function dateParam(dialect: Dialect, date: Date): string {
  const text = date.toISOString().replace('T', ' ').replace('Z', '');
  return dialect === 'sqlite' ? `${text} +00:00` : text;
}

/** A piece of SQL and its bound values, in order. */
interface Sql {
  sql: string;
  params: unknown[];
}

/** One sort key: a whitelisted column, its type (to decode a cursor) and whether it may be NULL. */
interface SortKey {
  column: 'startedAt' | 'durationMs' | 'title' | 'location' | 'score';
  type: 'date' | 'number' | 'text';
  nullable: boolean;
}

/**
 * The keys of a sort, the id last (a total order for paging). Each is an index's own order (location's index
 * holds the start time before the id), so a page is read from an index, not sorted.
 */
export function sortKeys(sort: RecordingSort): SortKey[] {
  const startedAt: SortKey = { column: 'startedAt', type: 'date', nullable: false };
  switch (sort) {
    case 'durationMs':
      return [{ column: 'durationMs', type: 'number', nullable: true }];
    case 'title':
      return [{ column: 'title', type: 'text', nullable: false }];
    case 'location':
      return [{ column: 'location', type: 'text', nullable: true }, startedAt];
    case 'relevance':
      return [{ column: 'score', type: 'number', nullable: false }, startedAt];
    default:
      return [startedAt];
  }
}

/** Where a page ends: the sort keys' values of its last row, and its id. */
export interface Cursor {
  sort: RecordingSort;
  order: 'asc' | 'desc';
  values: Array<string | number | null>;
  id: number;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.sort, cursor.order, cursor.values, cursor.id])).toString('base64url');
}

/** The cursor a request gave, checked against its sort (a cursor of another sort is a 400, never a wrong page). */
export function decodeCursor(text: string, filters: Pick<RecordingFilters, 'sort' | 'order'>): Cursor {
  const bad = () => new OnairError('request.invalid', 'query.cursor: must be the nextCursor of a previous page of the same sort');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) throw bad();
  const [sort, order, values, id] = parsed as [unknown, unknown, unknown, unknown];
  const keys = sortKeys(filters.sort);
  if (sort !== filters.sort || order !== filters.order || !Array.isArray(values) || values.length !== keys.length) throw bad();
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > INT32_MAX) throw bad();
  keys.forEach((key, i) => {
    const v = values[i] as unknown;
    if (v === null && key.nullable) return;
    if (key.type === 'number' && typeof v === 'number' && Number.isFinite(v)) return;
    if (key.type === 'text' && typeof v === 'string' && v.length <= 400) return;
    if (key.type === 'date' && typeof v === 'string' && !Number.isNaN(Date.parse(v))) return;
    throw bad();
  });
  return { sort: filters.sort, order: filters.order, values: values as Cursor['values'], id };
}

/** The library's rows (raw), as the list and the single view read them. */
export const ROW_COLUMNS =
  'r.id, r.liveId, r.userId, r.title, r.startedAt, r.endedAt, r.durationMs, r.sizeBytes, r.location, r.status, ' +
  'r.mimeType, r.posterFileName, r.trimStartMs, r.trimEndMs, r.cutFileName, u.nickname';

export interface RawRow {
  id: number;
  liveId: string | null;
  userId: number;
  title: string;
  startedAt: Date | string;
  endedAt: Date | string | null;
  durationMs: number | null;
  sizeBytes: number | string | null;
  location: string | null;
  status: RecordingStatus;
  mimeType: string;
  posterFileName: string | null;
  trimStartMs: number | null;
  trimEndMs: number | null;
  cutFileName: string | null;
  nickname: string | null;
}

/** Who may be in the list: everyone's recordings (of some users only, or all), and the viewer's own private ones. */
interface Branch {
  shelf: number;
  userIds: number[] | null;
}

function branches(filters: RecordingFilters, viewerId: number, presenterIds: number[] | null): Branch[] {
  let users: number[] | null = presenterIds;
  if (filters.mine) users = users === null ? [viewerId] : users.filter((id) => id === viewerId);
  const out: Branch[] = [];
  if (users === null || users.length) out.push({ shelf: SHELF.everyone, userIds: users });
  if (users === null || users.includes(viewerId)) out.push({ shelf: SHELF.owner, userIds: [viewerId] });
  return out;
}

/** The search part of a query: a condition and, for ranking, the score expression (with their bound values). */
interface Search {
  /** Joined to `r` (SQLite: the FTS5 rows with their score), or null. */
  join: Sql | null;
  where: Sql | null;
  score: Sql;
  /** True when nothing can match (a `q` without a letter or digit on MySQL). */
  none: boolean;
  /**
   * MySQL: the same match without the FULLTEXT index, row by row (LIKE over the tokens), for the viewer's own
   * private rows: a FULLTEXT search costs as much for a handful of rows as for the whole library.
   */
  rowWise: Sql | null;
}

/** `q` on SQLite: terms of 3 characters or more through FTS5's trigram index (ranked by bm25), shorter ones by LIKE. */
function sqliteSearch(q: string): Search {
  const terms = q.split(/\s+/).filter(Boolean);
  const long = terms.filter((t) => [...t].length >= 3);
  const short = terms.filter((t) => [...t].length < 3);
  const conds: string[] = [];
  const params: unknown[] = [];
  if (long.length) {
    conds.push('recordings_fts MATCH ?');
    params.push(long.map((t) => `"${t.replaceAll('"', '""')}"`).join(' AND '));
  }
  for (const t of short) {
    const like = `%${t.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    conds.push("(recordings_fts.title LIKE ? ESCAPE '\\' OR recordings_fts.presenter LIKE ? ESCAPE '\\')");
    params.push(like, like);
  }
  const score = long.length ? '-bm25(recordings_fts)' : '0';
  return {
    join: {
      sql: `JOIN (SELECT rowid AS id, ${score} AS score FROM recordings_fts WHERE ${conds.join(' AND ')}) s ON s.id = r.id`,
      params,
    },
    where: null,
    score: { sql: 's.score', params: [] },
    none: false,
    rowWise: null,
  };
}

function mysqlSearch(q: string): Search {
  const against = booleanQuery(q);
  if (against === null) return { join: null, where: null, score: { sql: '0', params: [] }, none: true, rowWise: null };
  const match = 'MATCH (r.searchText) AGAINST (? IN BOOLEAN MODE)';
  const terms = queryTerms(q);
  const rowWise: Sql = {
    sql: terms.map((t) => (t.prefix ? "CONCAT(' ', r.searchText) LIKE ?" : "CONCAT(' ', r.searchText, ' ') LIKE ?")).join(' AND '),
    params: terms.map((t) => `% t\\_${t.token}${t.prefix ? '%' : ' %'}`),
  };
  return { join: null, where: { sql: match, params: [against] }, score: { sql: match, params: [against] }, none: false, rowWise };
}

/** The filters of a list query, before visibility (which the branches add). */
function filterSql(dialect: Dialect, filters: RecordingFilters): Sql {
  const conds: string[] = [];
  const params: unknown[] = [];
  if (filters.from) {
    conds.push('r.startedAt >= ?');
    params.push(dateParam(dialect, filters.from));
  }
  if (filters.to) {
    conds.push('r.startedAt < ?');
    params.push(dateParam(dialect, filters.to));
  }
  if (filters.minDurationMs !== undefined) {
    conds.push('r.durationMs >= ?');
    params.push(filters.minDurationMs);
  }
  if (filters.maxDurationMs !== undefined) {
    conds.push('r.durationMs <= ?');
    params.push(filters.maxDurationMs);
  }
  if (filters.location) {
    conds.push('instr(lower(r.location), ?) > 0');
    params.push(filters.location.toLowerCase());
  }
  return { sql: conds.join(' AND '), params };
}

function branchSql(branch: Branch): Sql {
  if (branch.userIds === null) return { sql: 'r.shelf = ?', params: [branch.shelf] };
  if (branch.userIds.length === 1) return { sql: 'r.userId = ? AND r.shelf = ?', params: [branch.userIds[0], branch.shelf] };
  return { sql: 'r.userId IN (?) AND r.shelf = ?', params: [branch.userIds, branch.shelf] };
}

function and(...parts: Array<Sql | null>): Sql {
  const kept = parts.filter((p): p is Sql => p !== null && p.sql !== '');
  return { sql: kept.map((p) => p.sql).join(' AND ') || '1 = 1', params: kept.flatMap((p) => p.params) };
}

/** Rows after `cursor` in the sort's order (NULL is the smallest value on both databases). */
function afterCursor(dialect: Dialect, keys: SortKey[], dir: 'ASC' | 'DESC', cursor: Cursor, search: Search): Sql {
  const expr = (key: SortKey): Sql => (key.column === 'score' ? search.score : { sql: `r.${key.column}`, params: [] });
  const value = (key: SortKey, v: string | number | null) => (key.type === 'date' && typeof v === 'string' ? dateParam(dialect, new Date(v)) : v);
  const all = [...keys, { column: 'id', type: 'number', nullable: false } as unknown as SortKey];
  const values = [...cursor.values, cursor.id];
  const ors: Sql[] = [];
  for (let i = 0; i < all.length; i++) {
    const parts: Sql[] = [];
    for (let j = 0; j < i; j++) {
      const e = all[j]!.column === ('id' as string) ? { sql: 'r.id', params: [] } : expr(all[j]!);
      const v = values[j];
      parts.push(v === null ? { sql: `${e.sql} IS NULL`, params: e.params } : { sql: `${e.sql} = ?`, params: [...e.params, value(all[j]!, v!)] });
    }
    const key = all[i]!;
    const e = key.column === ('id' as string) ? { sql: 'r.id', params: [] } : expr(key);
    const v = values[i];
    if (dir === 'DESC') {
      if (v === null) continue; // nothing comes after NULL going down
      const cmp = `${e.sql} < ?`;
      parts.push(key.nullable ? { sql: `(${cmp} OR ${e.sql} IS NULL)`, params: [...e.params, value(key, v!), ...e.params] } : { sql: cmp, params: [...e.params, value(key, v!)] });
    } else {
      parts.push(v === null ? { sql: `${e.sql} IS NOT NULL`, params: e.params } : { sql: `${e.sql} > ?`, params: [...e.params, value(key, v!)] });
    }
    ors.push(and(...parts));
  }
  if (ors.length === 0) return { sql: '1 = 0', params: [] };
  return { sql: `(${ors.map((o) => `(${o.sql})`).join(' OR ')})`, params: ors.flatMap((o) => o.params) };
}

/** The index of one presenter's rows in each sort's order (migration 0003). */
const USER_INDEX: Partial<Record<RecordingSort, string>> = {
  startedAt: 'recordings_user_shelf_started',
  durationMs: 'recordings_user_shelf_duration',
  title: 'recordings_user_shelf_title',
};

/**
 * A count of a list query: a `SELECT COUNT(*) AS n`, or, with `byUser`, a `SELECT userId, COUNT(*) AS n … GROUP BY
 * userId` whose row of that user is the count (none: 0), the same SQL for every viewer.
 */
export interface Count extends Sql {
  byUser?: number;
}

/** A list query: the page's rows, and one count per visibility branch (for the total). */
export interface ListQuery {
  /** null when nothing can match. */
  page: Sql | null;
  counts: Count[];
  /**
   * Which of `counts` the page's rows also carry, as column `ownCount` (the viewer's own calls: a count only this
   * viewer asks for, so it rides on the page's query instead of a round trip of its own), or -1. An empty page has
   * no row to carry it: then that count is run on its own.
   */
  pageCounts: number;
  keys: SortKey[];
  /** Rows asked for: the page and one more (to know whether there is a next page). */
  limit: number;
  /** Rows of the merged order to skip (page numbers). */
  offset: number;
  /**
   * A search's candidates, the same for every viewer (so one FULLTEXT pass serves them all): the first `take`
   * matches of everyone's and every owner-only row, in the page's order, with `shelf` and `userId`; the library
   * keeps those the viewer may see. When they do not fill the page, `page` (the viewer's own query) is used.
   */
  shared: { sql: Sql; take: number; counts: Array<{ index: number; shelf: number; userId: number | null }> } | null;
  /**
   * Without a search: each visibility branch's keys on their own (the ids and sort keys of its first offset + limit
   * rows, in the page's order), so that the library merges them itself and keeps each under its own query. The
   * everyone branch's query names no viewer (unless `mine` or `presenter` name them), so its answer is the same for
   * every viewer it is the same SQL for. The owner branch's rows carry its count as `ownCount`. Null when a sort
   * key is text (the database's collation orders it; the page query merges those).
   */
  branches: Array<{ shelf: number; sql: Sql; count: number }> | null;
}

/**
 * The SQL of a list query seen by `viewerId`: each visibility branch reads its own index range (everyone's
 * broadcasts; the viewer's own calls) up to the end of the page, the two are merged, and only the page's rows are
 * then read in full with their presenter's nickname. `presenterIds` are the users a `presenter` filter resolved to
 * (empty: nobody), or null without that filter.
 */
export function listQuery(
  dialect: Dialect,
  filters: RecordingFilters,
  viewerId: number,
  presenterIds: number[] | null,
  cursor: Cursor | null,
): ListQuery {
  const keys = sortKeys(filters.sort);
  const dir = filters.order === 'asc' ? 'ASC' : 'DESC';
  const search: Search | null = filters.q ? (dialect === 'sqlite' ? sqliteSearch(filters.q) : mysqlSearch(filters.q)) : null;
  const limit = filters.size + 1;
  const offset = cursor ? 0 : (filters.page - 1) * filters.size;
  const parts = branches(filters, viewerId, presenterIds);
  if (parts.length === 0 || search?.none) return { page: null, counts: [], pageCounts: -1, keys, limit, offset, shared: null, branches: null };
  const filtered = filterSql(dialect, filters);
  const from = search?.join ? { sql: `recordings r ${search.join.sql}`, params: search.join.params } : { sql: 'recordings r', params: [] };
  const counts = parts.map((b): Count => {
    if (search?.join && b.shelf === SHELF.owner) {
      // SQLite: FTS5 finds a common word's matches in the whole library (a trigram index has no owner column) at
      // the same cost for a handful of the viewer's own rows as for all of them; one pass counts every owner's.
      const where = and({ sql: 'r.shelf = ?', params: [b.shelf] }, filtered);
      return {
        sql: `SELECT r.userId AS userId, COUNT(*) AS n FROM ${from.sql} WHERE ${where.sql} GROUP BY r.userId`,
        params: [...from.params, ...where.params],
        byUser: viewerId,
      };
    }
    const match = search?.rowWise && b.shelf === SHELF.owner ? search.rowWise : (search?.where ?? null);
    const where = and(branchSql(b), filtered, match);
    return { sql: `SELECT COUNT(*) AS n FROM ${from.sql} WHERE ${where.sql}`, params: [...from.params, ...where.params] };
  });
  const keyCols = keys.map((k, i) => (k.column === 'score' ? { sql: `${search!.score.sql} AS k${i}`, params: search!.score.params } : { sql: `r.${k.column} AS k${i}`, params: [] }));
  const keyOrder = keys.map((k, i) => (k.column === 'score' ? `k${i} ${dir}` : `r.${k.column} ${dir}`)).join(', ');
  // Each branch reads its own index range; a search reads the text index once for every branch.
  const visible: Sql[] = search
    ? [
        (() => {
          const each = parts.map(branchSql);
          return { sql: `(${each.map((e) => `(${e.sql})`).join(' OR ')})`, params: each.flatMap((e) => e.params) };
        })(),
      ]
    : parts.map(branchSql);
  const noSearch: Search = { join: null, where: null, score: { sql: '0', params: [] }, none: false, rowWise: null };
  const inner = visible.map((v, i) => {
    const where = and(v, filtered, search?.where ?? null, cursor ? afterCursor(dialect, keys, dir, cursor, search ?? noSearch) : null);
    // One presenter's rows: MariaDB may prefer walking everyone's index in the sort's order, testing each row's
    // owner (tens of thousands of rows for a presenter with few matches); their own index holds a few thousand.
    const hint = !search && parts[i]?.userIds?.length === 1 && USER_INDEX[filters.sort] ? USER_INDEX[filters.sort]! : null;
    const table = hint ? (dialect === 'mysql' ? `recordings r USE INDEX (${hint})` : `recordings r INDEXED BY ${hint}`) : from.sql;
    return {
      sql: `SELECT r.id AS id, ${keyCols.map((c) => c.sql).join(', ')} FROM ${table} WHERE ${where.sql} ORDER BY ${keyOrder}, r.id ${dir} LIMIT ${offset + limit}`,
      params: [...keyCols.flatMap((c) => c.params), ...from.params, ...where.params],
    };
  }).map((p, i) => ({ sql: `SELECT * FROM (${p.sql}) AS b${i}`, params: p.params, bare: p }));
  const outerOrder = [...keys.map((_, i) => `k.k${i} ${dir}`), `k.id ${dir}`].join(', ');
  // The page is cut from the merged keys first; only its rows are then read in full.
  const keysOrder = [...keys.map((_, i) => `m.k${i} ${dir}`), `m.id ${dir}`].join(', ');
  const merged = `SELECT * FROM (${inner.map((p) => p.sql).join(' UNION ALL ')}) AS m ORDER BY ${keysOrder} LIMIT ${limit} OFFSET ${offset}`;
  const pageCounts = search ? -1 : parts.findIndex((b) => b.shelf === SHELF.owner);
  const carried = pageCounts < 0 ? null : { sql: counts[pageCounts]!.sql.replace('COUNT(*) AS n', 'COUNT(*)'), params: counts[pageCounts]!.params };
  const page: Sql = {
    sql:
      `SELECT ${ROW_COLUMNS}, ${keys.map((_, i) => `k.k${i}`).join(', ')}${carried ? `, (${carried.sql}) AS ownCount` : ''} FROM (${merged}) AS k ` +
      `JOIN recordings r ON r.id = k.id LEFT JOIN users u ON u.id = r.userId ORDER BY ${outerOrder}`,
    params: [...(carried?.params ?? []), ...inner.flatMap((p) => p.params)],
  };
  let shared: ListQuery['shared'] = null;
  if (search) {
    const take = 2 * (offset + limit) + 50;
    const users = branches(filters, viewerId, presenterIds).find((b) => b.shelf === SHELF.everyone)?.userIds ?? null;
    const everyone: Sql = users
      ? { sql: 'r.userId IN (?) AND r.shelf IN (?)', params: [users, [SHELF.everyone, SHELF.owner]] }
      : { sql: 'r.shelf IN (?)', params: [[SHELF.everyone, SHELF.owner]] };
    const where = and(everyone, filtered, search.where, cursor ? afterCursor(dialect, keys, dir, cursor, search) : null);
    shared = {
      take,
      // Every branch's count, which the candidates answer when they are all the matches (they hold every owner's
      // rows too; MySQL's owner branch counts row by row only when they are not all: the same tokens, matched alike).
      counts: parts.map((b, index) => ({ index, shelf: b.shelf, userId: b.shelf === SHELF.owner ? viewerId : null })),
      sql: {
        sql: `SELECT r.id AS id, r.shelf AS shelf, r.userId AS userId, ${keyCols.map((c) => c.sql).join(', ')} FROM ${from.sql} WHERE ${where.sql} ORDER BY ${keyOrder}, r.id ${dir} LIMIT ${take}`,
        params: [...keyCols.flatMap((c) => c.params), ...from.params, ...where.params],
      },
    };
  }
  const branchesOf =
    search || keys.some((k) => k.type === 'text')
      ? null
      : parts.map((b, i) => {
          const own = b.shelf === SHELF.owner ? counts[i]!.sql.replace('COUNT(*) AS n', 'COUNT(*)') : null;
          const bare = inner[i]!.bare;
          return {
            shelf: b.shelf,
            count: i,
            sql: own ? { sql: `SELECT b.*, (${own}) AS ownCount FROM (${bare.sql}) AS b`, params: [...counts[i]!.params, ...bare.params] } : bare,
          };
        });
  return { page, counts, pageCounts, keys, limit, offset, shared, branches: branchesOf };
}

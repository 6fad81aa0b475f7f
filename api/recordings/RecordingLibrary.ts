/**
 * The recordings library (VOD): lists and shows finished recordings with signed URLs of their media and poster,
 * finds a recording's files for the media routes, and deletes a recording with its files. Every file is found by
 * the row's id and resolved inside RECORDINGS_DIR; nothing from a request becomes a path.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { QueryTypes, type Transaction } from 'sequelize';
import { countryCodeOfLocation } from '../live/location.js';
import { OnairError } from '../contract/errors.js';
import { avatarUrl, type RecordingList, type RecordingShare, type RecordingView } from '../contract/rest.js';
import type { Database, Recording } from '../db/index.js';
import { nicknameKey } from '../auth/rules.js';
import { SHELF } from '../db/Recording.js';
import {
  decodeCursor,
  encodeCursor,
  LIBRARY_STATUSES,
  listQuery,
  presenterCandidates,
  ROW_COLUMNS,
  type Cursor,
  type Dialect,
  type ListQuery,
  type RawRow,
  type RecordingFilters,
} from './RecordingQuery.js';
import { LibraryVersion } from './LibraryVersion.js';
import { QueryCache, type Cached } from './QueryCache.js';
import type { Store } from '../store/Store.js';
import { realPathInside, resolveInside } from './recordingPath.js';
import type { MediaTools } from './MediaTools.js';
import type { SignedKind, UrlSigner } from './UrlSigner.js';

export interface RecordingLibraryOptions {
  db: Pick<Database, 'sequelize' | 'Recording' | 'User' | 'Live'>;
  recordingsDir: string;
  signer: UrlSigner;
  log: Logger;
  /** Shares the library's version between API processes (without: only this process's writes are seen). */
  store?: Store;
  /** ffmpeg and ffprobe, for cutting a trimmed recording (without: cutting answers media.unavailable). */
  tools?: MediaTools;
  /** Told of each recording deleted, once its row is gone (to tell other users' open lists). */
  onDeleted?: (recordingId: number) => void;
}

/** A file to serve. */
export interface RecordingFile {
  path: string;
  mimeType: string;
  /** The file name to download it as, or null to show it inline. */
  attachment: string | null;
}

/** The owner's changes (PATCH): only what is given changes. */
export interface RecordingEdit {
  title?: string;
  trimStartMs?: number | null;
  trimEndMs?: number | null;
}

/** A title as a file name: letters, digits, spaces and a few signs kept, at most 80 characters. */
function downloadName(title: string): string {
  return title.replace(/[^\p{L}\p{N} ._()-]+/gu, '_').trim().slice(0, 80) || 'recording';
}

/** Files moved aside by a delete wait here until the row is gone (see `reconcileRecordings`). */
export const TRASH_DIR = '.trash';
export const MANIFEST = 'manifest.json';

/** What a delete moved aside: `files` are relative to RECORDINGS_DIR (`from`) and to the trash folder (`to`). */
export interface TrashManifest {
  recordingId: number;
  files: Array<{ from: string; to: string }>;
}

function notFound(id: number): OnairError {
  return new OnairError('recording.notFound', `recording ${id} was not found`);
}

export class RecordingLibrary {
  readonly #opts: RecordingLibraryOptions;
  readonly #dialect: Dialect;
  readonly #cache: QueryCache;
  /** The library's rows by id (ROW_COLUMNS), under the library's version: a page's rows are mostly another's. */
  readonly #rows: QueryCache;
  readonly #version: LibraryVersion;
  /** Nickname keys → user ids of presenters asked for. */
  readonly #userIds = new Map<string, number>();

  constructor(options: RecordingLibraryOptions) {
    this.#opts = options;
    this.#dialect = options.db.sequelize.getDialect() === 'sqlite' ? 'sqlite' : 'mysql';
    this.#cache = new QueryCache(options.db.sequelize);
    this.#rows = new QueryCache(options.db.sequelize, { max: 20_000 });
    this.#version = new LibraryVersion(options.db.sequelize, [options.db.Recording, options.db.User], options.store ?? null, options.log);
  }

  /** Stops watching the database's writes. Idempotent. */
  close(): void {
    this.#version.close();
  }

  /** One page of the library as `viewerId` sees it. */
  /** `sessionId` (Session.id) binds the signed URLs to the viewer's session. */
  async list(filters: RecordingFilters, viewerId: number, sessionId?: string): Promise<RecordingList> {
    const { page, totalKind, cursor } = await this.#cachedPage(filters, viewerId);
    const exp = this.#opts.signer.expiry();
    return {
      recordings: page.rows.map((row) => this.#signed(row.view, viewerId, exp, sessionId)),
      page: cursor ? 0 : filters.page,
      size: filters.size,
      total: page.total,
      totalKind,
      totalAsOf: new Date(page.asOf).toISOString(),
      nextCursor: page.nextCursor,
    };
  }

  /**
   * `list()`'s answer as UTF-8 JSON (the rows' unsigned parts are serialised once, when they are cached). Bytes, not
   * text: a cached answer is encoded once, and a body of bytes is written after the headers instead of being joined
   * to them into one string (for titles in Chinese, a two-byte string twice the answer's size) on every request.
   */
  async listJson(filters: RecordingFilters, viewerId: number, sessionId?: string): Promise<Buffer> {
    const { page, totalKind, cursor } = await this.#cachedPage(filters, viewerId);
    const { signer } = this.#opts;
    const exp = signer.expiry();
    // The same session asking again for a cached page gets the same text (its URLs are signed to the same expiry).
    const signedKey = `${exp}:${sessionId ?? ''}`;
    const again = totalKind === 'cached' ? page.signed.get(signedKey) : undefined;
    if (again !== undefined) return again;
    const expiresAt = JSON.stringify(new Date(exp * 1000).toISOString());
    const rows = page.rows.map(({ view, json }) => {
      const { id } = view;
      const url = (kind: SignedKind) => `"${signer.url(kind, id, exp, sessionId).url}"`;
      return (
        `${json},"mediaUrl":${url('media')},"posterUrl":${view.hasPoster ? url('poster') : 'null'},"urlsExpireAt":${expiresAt},` +
        `"downloadUrl":${view.mine ? url('download') : 'null'},"cutUrl":${view.mine && view.hasCut ? url('cut') : 'null'}}`
      );
    });
    const json = Buffer.from(
      `{"recordings":[${rows.join(',')}],"page":${cursor ? 0 : filters.page},"size":${filters.size},"total":${page.total},` +
        `"totalKind":"${totalKind}","totalAsOf":"${new Date(page.asOf).toISOString()}","nextCursor":${JSON.stringify(page.nextCursor)}}`,
    );
    if (totalKind === 'cached') {
      if (page.signed.size >= 8) page.signed.clear();
      page.signed.set(signedKey, json);
    }
    return json;
  }

  /** The answer for this viewer and query, from the cache when the library has not changed since. */
  async #cachedPage(filters: RecordingFilters, viewerId: number): Promise<{ page: ListPage; totalKind: 'exact' | 'cached'; cursor: Cursor | null }> {
    const cursor = filters.cursor ? decodeCursor(filters.cursor, filters) : null;
    const version = await this.#version.current();
    const answer = await this.#cache.get(
      listKey(filters, viewerId),
      version,
      () => this.#listPage(filters, viewerId, cursor, version),
      (page) => page.asOf, // a page expires with the oldest total it shows
    );
    return { page: answer.value, totalKind: answer.fresh && answer.value.counted ? 'exact' : 'cached', cursor };
  }

  async #listPage(filters: RecordingFilters, viewerId: number, cursor: Cursor | null, version: string | null): Promise<ListPage> {
    const presenterIds = filters.presenter === undefined ? null : await this.#presenterIds(filters.presenter);
    const query = listQuery(this.#dialect, filters, viewerId, presenterIds, cursor);
    const derived = query.shared && !cursor ? await this.#candidateCounts(query.shared, version) : new Map<number, Cached<number>>();
    const [{ rows, ownCount }, others] = await Promise.all([
      this.#page(filters, query, viewerId, version, cursor, filters.order === 'desc'),
      Promise.all(
        query.counts.map((count, i) =>
          i === query.pageCounts
            ? Promise.resolve(null)
            : Promise.resolve(
                derived.get(i) ??
                  (count.byUser === undefined
                    ? this.#cache.count(count.sql, count.params, version)
                    : this.#cache.countOf(count.sql, count.params, count.byUser, version)),
              ),
        ),
      ),
    ]);
    const carried = query.pageCounts >= 0 ? query.counts[query.pageCounts]! : null;
    const totals = await Promise.all(
      others.map(async (total) => {
        if (total) return total;
        // The count the page's rows carry (an empty page carries none: counted on its own).
        if (ownCount !== null) return ownCount;
        return this.#cache.count(carried!.sql, carried!.params, version);
      }),
    );
    const more = rows.length >= query.limit;
    const shown = more ? rows.slice(0, filters.size) : rows;
    const last = shown[shown.length - 1];
    const nextCursor =
      more && last
        ? encodeCursor({
            sort: filters.sort,
            order: filters.order,
            values: query.keys.map((key, i) => cursorValue(last[`k${i}`], key.type)),
            id: Number(last.id),
          })
        : null;
    return {
      rows: shown.map((row) => {
        const view = unsigned(row, viewerId);
        const { hasPoster: _poster, hasCut: _cut, ...fields } = view;
        // The view's JSON but its last brace: the signed URLs follow (listJson).
        return { view, json: JSON.stringify(fields).slice(0, -1) };
      }),
      total: totals.reduce((sum, t) => sum + t.value, 0),
      counted: totals.every((t) => t.fresh),
      asOf: totals.reduce((min, t) => Math.min(min, t.at), Date.now()),
      nextCursor,
      signed: new Map(),
    };
  }

  /**
   * The counts a search's candidates answer when they are all its matches (fewer than were asked for), without a
   * cursor: those of the branches that test the same match, by their index in `counts`.
   */
  async #candidateCounts(shared: NonNullable<ListQuery['shared']>, version: string | null): Promise<Map<number, Cached<number>>> {
    const out = new Map<number, Cached<number>>();
    if (shared.counts.length === 0) return out;
    const candidates = await this.#cache.rows<{ id: number; shelf: number; userId: number }>(shared.sql.sql, shared.sql.params, version);
    if (candidates.value.length >= shared.take) return out;
    for (const { index, shelf, userId } of shared.counts) {
      const value = candidates.value.filter((c) => Number(c.shelf) === shelf && (userId === null || Number(c.userId) === userId)).length;
      out.set(index, { value, at: candidates.at, fresh: candidates.fresh });
    }
    return out;
  }

  /**
   * The rows of a list query's page (and one more when there is a next page), in order, and the viewer's own count
   * when the query carried it (null: count it on its own).
   */
  async #page(
    filters: RecordingFilters,
    query: ListQuery,
    viewerId: number,
    version: string | null,
    cursor: Cursor | null,
    descending: boolean,
  ): Promise<{ rows: PageRow[]; ownCount: Cached<number> | null }> {
    if (!query.page) return { rows: [], ownCount: null };
    if (query.branches) return this.#mergedPage(query, query.branches, version, cursor, descending, viewerId, filters);
    const { sequelize } = this.#opts.db;
    if (query.shared) {
      // A search: the candidates every viewer shares (cached), less what this viewer may not see.
      const { sql, take } = query.shared;
      const candidates = (await this.#cache.rows<{ id: number; shelf: number; userId: number } & Record<string, unknown>>(sql.sql, sql.params, version)).value;
      const visible = candidates.filter((c) => Number(c.shelf) === SHELF.everyone || Number(c.userId) === viewerId);
      if (candidates.length < take || visible.length >= query.offset + query.limit) {
        const picked = visible.slice(query.offset, query.offset + query.limit);
        return { rows: await this.#fullRows(picked, version), ownCount: null };
      }
    }
    const rows = await sequelize.query<PageRow>(query.page.sql, { replacements: query.page.params, type: QueryTypes.SELECT });
    const carried = rows.length > 0 && rows[0]!.ownCount !== undefined ? Number(rows[0]!.ownCount) : null;
    return { rows, ownCount: carried === null ? null : { value: carried, at: Date.now(), fresh: true } };
  }

  /**
   * A page merged from its visibility branches' keys: everyone's (cached under its own SQL, so shared by every
   * viewer it is the same query for) and the viewer's own (with their count), then the page's rows by id.
   */
  async #mergedPage(
    query: ListQuery,
    branches: NonNullable<ListQuery['branches']>,
    version: string | null,
    cursor: Cursor | null,
    descending: boolean,
    viewerId: number,
    filters: RecordingFilters,
  ): Promise<{ rows: PageRow[]; ownCount: Cached<number> | null }> {
    const { sequelize } = this.#opts.db;
    const paged = cursor !== null;
    const sign = descending ? -1 : 1;
    let ownCount: Cached<number> | null = null;
    const lists = await Promise.all(
      branches.map(async (branch) => {
        if (branch.shelf === SHELF.everyone) return (await this.#cache.rows<KeyRow>(branch.sql.sql, branch.sql.params, version)).value;
        const kept = await this.#ownKeys(filters, query, viewerId, version, cursor, sign);
        if (kept) {
          ownCount = kept.count;
          return kept.rows;
        }
        const own = await sequelize.query<KeyRow>(branch.sql.sql, { replacements: branch.sql.params, type: QueryTypes.SELECT });
        // No row of the viewer's own before the end of the page, and no cursor cutting them: they have none.
        if (own.length > 0) ownCount = { value: Number(own[0]!.ownCount), at: Date.now(), fresh: true };
        else if (!paged) ownCount = { value: 0, at: Date.now(), fresh: true };
        return own;
      }),
    );
    const merged = lists.length === 1 ? lists[0]! : lists.flat().sort((a, b) => sign * compareKeys(a, b, query.keys));
    const picked = merged.slice(query.offset, query.offset + query.limit);
    return { rows: await this.#fullRows(picked, version), ownCount };
  }

  /**
   * The owner branch's keys and count without a query of its own, when its filters are only start times and
   * durations (compared here exactly as the database does): from the viewer's own calls in the library, read once
   * per library version (null when there are more than OWN_KEPT_MAX, or other filters).
   */
  async #ownKeys(
    filters: RecordingFilters,
    query: ListQuery,
    viewerId: number,
    version: string | null,
    cursor: Cursor | null,
    sign: number,
  ): Promise<{ rows: KeyRow[]; count: Cached<number> } | null> {
    if (filters.q !== undefined || filters.location !== undefined || version === null) return null;
    if (query.keys.some((key) => key.column !== 'startedAt' && key.column !== 'durationMs')) return null;
    const all = await this.#cache.rows<{ id: number; startedAt: Date | string; durationMs: number | null }>(
      `SELECT r.id AS id, r.startedAt AS startedAt, r.durationMs AS durationMs FROM recordings r WHERE r.userId = ? AND r.shelf = ? LIMIT ${OWN_KEPT_MAX + 1}`,
      [viewerId, SHELF.owner],
      version,
    );
    if (all.value.length > OWN_KEPT_MAX) return null;
    const from = filters.from?.getTime();
    const to = filters.to?.getTime();
    const { minDurationMs: min, maxDurationMs: max } = filters;
    const matching = all.value.flatMap((r) => {
      const startedAt = keyNumber(r.startedAt, 'date')!;
      const durationMs = r.durationMs === null ? null : Number(r.durationMs);
      if (from !== undefined && !(startedAt >= from)) return [];
      if (to !== undefined && !(startedAt < to)) return [];
      if (min !== undefined && !(durationMs !== null && durationMs >= min)) return [];
      if (max !== undefined && !(durationMs !== null && durationMs <= max)) return [];
      const row: KeyRow = { id: Number(r.id) };
      query.keys.forEach((key, i) => (row[`k${i}`] = key.column === 'startedAt' ? r.startedAt : r.durationMs));
      return [row];
    });
    const at: KeyRow | null = cursor ? { id: cursor.id, ...Object.fromEntries(cursor.values.map((v, i) => [`k${i}`, v])) } : null;
    const after = at ? matching.filter((r) => sign * compareKeys(r, at, query.keys) > 0) : matching;
    after.sort((a, b) => sign * compareKeys(a, b, query.keys));
    return { rows: after.slice(0, query.offset + query.limit), count: { value: matching.length, at: all.at, fresh: all.fresh } };
  }

  /** The full rows (ROW_COLUMNS) of `picked`, in its order, each with its picked fields (sort keys). */
  async #fullRows(picked: KeyRow[], version: string | null): Promise<PageRow[]> {
    if (picked.length === 0) return [];
    const byId = await this.#rows.byId<PageRow>(picked.map((c) => Number(c.id)), version, async (ids) => {
      const full = await this.#opts.db.sequelize.query<PageRow>(
        `SELECT ${ROW_COLUMNS} FROM recordings r LEFT JOIN users u ON u.id = r.userId WHERE r.id IN (?)`,
        { replacements: [ids], type: QueryTypes.SELECT },
      );
      return new Map(full.map((row) => [Number(row.id), row]));
    });
    return picked.flatMap((c) => {
      const row = byId.get(Number(c.id));
      return row ? [{ ...c, ...row }] : [];
    });
  }

  /** A recording of the library, as `viewerId` sees it; `recording.notFound` when it is not in the library. */
  async get(id: number, viewerId: number, sessionId?: string): Promise<RecordingView> {
    const row = await this.#visibleRow(id, viewerId);
    return this.#view(row, viewerId, this.#opts.signer.expiry(), sessionId);
  }

  /** The row of a recording `viewerId` may see, raw, with its presenter's nickname. */
  async #visibleRow(id: number, viewerId: number): Promise<RawRow> {
    const [row] = await this.#opts.db.sequelize.query<RawRow>(
      `SELECT ${ROW_COLUMNS} FROM recordings r LEFT JOIN users u ON u.id = r.userId
       WHERE r.id = ? AND (r.shelf = ? OR (r.shelf = ? AND r.userId = ?))`,
      { replacements: [id, SHELF.everyone, SHELF.owner, viewerId], type: QueryTypes.SELECT },
    );
    if (!row) throw notFound(id);
    return row;
  }

  /** The file behind a verified signed URL; `recording.notFound` when the row or the file is gone. */
  async file(id: number, kind: SignedKind): Promise<RecordingFile> {
    const row = await this.#opts.db.Recording.findOne({
      where: { id, status: [...LIBRARY_STATUSES] },
      attributes: ['id', 'title', 'fileName', 'posterFileName', 'cutFileName', 'mimeType'],
    });
    if (!row) throw notFound(id);
    const relative = kind === 'poster' ? row.posterFileName : kind === 'cut' ? row.cutFileName : row.fileName;
    const file = relative ? await realPathInside(this.#opts.recordingsDir, relative) : null;
    const what = kind === 'poster' ? 'poster' : kind === 'cut' ? 'trimmed cut' : 'media file';
    if (!file) {
      if (relative) this.#opts.log.warn({ recordingId: id, kind }, 'the file of a recording is missing or outside the recordings folder');
      throw new OnairError('recording.notFound', `recording ${id} has no ${what}`);
    }
    const attachment =
      kind === 'download' || kind === 'cut' ? `${downloadName(row.title)}${kind === 'cut' ? ' (trimmed)' : ''}.webm` : null;
    return { path: file, mimeType: kind === 'poster' ? 'image/jpeg' : row.mimeType, attachment };
  }

  /**
   * The owner's edit of a recording: a new title, and the trim (the part kept, played, and downloaded as the cut).
   * A changed trim drops a cut made from the old one. `null` clears a trim point.
   */
  async edit(id: number, viewerId: number, changes: RecordingEdit, sessionId?: string): Promise<RecordingView> {
    let dropped: string | null = null;
    await this.#opts.db.sequelize.transaction(async (transaction) => {
      const row = await this.#ownRow(id, viewerId, transaction);
      const start = changes.trimStartMs === undefined ? row.trimStartMs : changes.trimStartMs;
      const end = changes.trimEndMs === undefined ? row.trimEndMs : changes.trimEndMs;
      const duration = row.durationMs;
      if (start !== null && duration !== null && start >= duration) {
        throw new OnairError('request.invalid', `body.trimStartMs: must be less than the duration (${duration} ms)`);
      }
      if (end !== null && duration !== null && end > duration) {
        throw new OnairError('request.invalid', `body.trimEndMs: must not be more than the duration (${duration} ms)`);
      }
      if (start !== null && end !== null && end <= start) {
        throw new OnairError('request.invalid', 'body.trimEndMs: must be after trimStartMs');
      }
      const trimChanged = start !== row.trimStartMs || end !== row.trimEndMs;
      if (trimChanged && row.cutFileName) dropped = row.cutFileName;
      await row.update(
        {
          ...(changes.title !== undefined ? { title: changes.title } : {}),
          trimStartMs: start,
          trimEndMs: end,
          ...(trimChanged ? { cutFileName: null } : {}),
        },
        { transaction },
      );
    });
    if (dropped) await this.#removeFile(dropped, id);
    this.#opts.log.info({ recordingId: id, userId: viewerId, changes }, 'recording edited');
    return this.get(id, viewerId, sessionId);
  }

  /**
   * Cuts the trimmed part into a file of its own (ffmpeg stream copy: it starts at the keyframe at or before the
   * trim's start), kept beside the original until the owner confirms (confirmCut) or changes the trim.
   */
  async cut(id: number, viewerId: number, sessionId?: string): Promise<RecordingView> {
    const { tools } = this.#opts;
    if (!tools?.ffmpeg) throw new OnairError('media.unavailable', 'ffmpeg is not available on this server: recordings cannot be cut');
    const row = await this.#ownRow(id, viewerId);
    if (row.trimStartMs === null && row.trimEndMs === null) {
      throw new OnairError('request.invalid', 'body: set the trim (trimStartMs, trimEndMs) before cutting');
    }
    const src = await realPathInside(this.#opts.recordingsDir, row.fileName);
    if (!src) throw new OnairError('recording.notFound', `recording ${id} has no media file`);
    const relative = path.join(path.dirname(row.fileName), `${path.basename(row.fileName, path.extname(row.fileName))}.cut-${randomBytes(4).toString('hex')}${path.extname(row.fileName) || '.webm'}`);
    const dst = resolveInside(this.#opts.recordingsDir, relative)!;
    const start = row.trimStartMs ?? 0;
    const end = row.trimEndMs ?? row.durationMs ?? 24 * 3_600_000;
    try {
      await tools.cut(src, `${dst}.part`, start, end);
      await rename(`${dst}.part`, dst);
    } catch (err) {
      await rm(`${dst}.part`, { force: true });
      this.#opts.log.error({ err, recordingId: id }, 'cutting a recording failed');
      throw new OnairError('media.failed', 'the recording could not be cut');
    }
    let previous: string | null = null;
    const kept = await this.#opts.db.sequelize.transaction(async (transaction) => {
      const locked = await this.#opts.db.Recording.findByPk(id, { transaction, lock: transaction.LOCK.UPDATE });
      // The trim changed (or the row went) while cutting: this cut is not the owner's any more.
      if (!locked || locked.trimStartMs !== row.trimStartMs || locked.trimEndMs !== row.trimEndMs) return false;
      previous = locked.cutFileName;
      await locked.update({ cutFileName: relative }, { transaction });
      return true;
    });
    if (!kept) {
      await rm(dst, { force: true });
      throw notFound(id);
    }
    if (previous) await this.#removeFile(previous, id);
    this.#opts.log.info({ recordingId: id, startMs: start, endMs: end }, 'recording cut');
    return this.get(id, viewerId, sessionId);
  }

  /** Replaces the original file with the cut: the recording is now the trimmed part (its trim cleared). */
  async confirmCut(id: number, viewerId: number, sessionId?: string): Promise<RecordingView> {
    const { tools } = this.#opts;
    await this.#opts.db.sequelize.transaction(async (transaction) => {
      const row = await this.#ownRow(id, viewerId, transaction);
      if (!row.cutFileName) throw new OnairError('request.invalid', 'body: there is no cut to confirm (cut the recording first)');
      const cut = await realPathInside(this.#opts.recordingsDir, row.cutFileName);
      const original = resolveInside(this.#opts.recordingsDir, row.fileName);
      if (!cut || !original) throw new OnairError('recording.notFound', `recording ${id} has no trimmed cut`);
      const probed = tools?.ffprobe ? await tools.probe(cut).catch(() => null) : null;
      const durationMs = probed?.durationMs ?? (row.trimEndMs ?? row.durationMs ?? 0) - (row.trimStartMs ?? 0);
      await rename(cut, original);
      await row.update(
        { durationMs, sizeBytes: (await stat(original)).size, trimStartMs: null, trimEndMs: null, cutFileName: null },
        { transaction },
      );
    });
    this.#opts.log.info({ recordingId: id, userId: viewerId }, 'recording replaced by its cut');
    return this.get(id, viewerId, sessionId);
  }

  /** A link to watch the recording without an account, until it expires (at most SHARE_MAX_MS). */
  async share(id: number, viewerId: number, expiresInMs: number): Promise<RecordingShare> {
    const row = await this.#ownRow(id, viewerId);
    const link = this.#opts.signer.url('share', row.id, this.#opts.signer.shareExpiry(expiresInMs));
    this.#opts.log.info({ recordingId: id, userId: viewerId, expiresAt: link.expiresAt }, 'recording shared');
    return { url: link.url, expiresAt: link.expiresAt.toISOString() };
  }

  /** A recording of `viewerId`'s, in the library (not one still recording); notFound or forbidden otherwise. */
  async #ownRow(id: number, viewerId: number, transaction?: Transaction): Promise<Recording> {
    const row = await this.#opts.db.Recording.findByPk(id, { transaction, lock: transaction ? transaction.LOCK.UPDATE : undefined });
    if (!row || !this.#mayShow(row, viewerId) || row.shelf === SHELF.none) throw notFound(id);
    if (row.userId !== viewerId) throw new OnairError('recording.forbidden', 'only its presenter may change a recording');
    return row;
  }

  async #removeFile(relative: string, id: number): Promise<void> {
    const file = resolveInside(this.#opts.recordingsDir, relative);
    if (file) await rm(file, { force: true }).catch((err: unknown) => this.#opts.log.warn({ err, recordingId: id }, 'removing a file failed'));
  }

  /**
   * Deletes a recording of `viewerId` with its files: the row is locked, the files are moved aside, the row is
   * deleted, and only once that is committed are the files removed. If the row cannot be deleted, the files go
   * back; a crash in between leaves them in the trash folder, which start-up reconciliation settles.
   */
  async delete(id: number, viewerId: number): Promise<void> {
    const { sequelize, Recording } = this.#opts.db;
    const transaction = await sequelize.transaction();
    let manifest: TrashManifest | null = null;
    let trash: string | null = null;
    try {
      const row = await Recording.findByPk(id, { transaction, lock: transaction.LOCK.UPDATE });
      if (!row || !this.#mayShow(row, viewerId)) throw notFound(id);
      if (row.userId !== viewerId) throw new OnairError('recording.forbidden', 'only its presenter may delete a recording');
      if (row.status === 'recording') throw new OnairError('recording.forbidden', 'this recording is still going on: end the live first');
      trash = path.join(this.#opts.recordingsDir, TRASH_DIR, `${id}-${randomBytes(6).toString('hex')}`);
      manifest = await this.#moveAside(row, trash);
      await row.destroy({ transaction });
      await transaction.commit();
    } catch (err) {
      await rollback(transaction);
      if (manifest && trash) await this.#restore(manifest, trash, err);
      throw err;
    }
    await rm(trash, { recursive: true, force: true }).catch((err: unknown) =>
      this.#opts.log.warn({ err, recordingId: id }, 'removing a deleted recording\'s files failed; start-up reconciliation retries'),
    );
    this.#opts.log.info({ recordingId: id, userId: viewerId }, 'recording deleted');
    this.#opts.onDeleted?.(id);
  }

  /**
   * Moves a row's files into `trash`. The manifest (where each file came from) is written first, so that a crash
   * at any point leaves enough to put them back.
   */
  async #moveAside(row: Recording, trash: string): Promise<TrashManifest> {
    const files = [row.fileName, row.posterFileName, row.cutFileName]
      .filter((name): name is string => !!name && resolveInside(this.#opts.recordingsDir, name) !== null)
      .map((name, i) => ({ from: name, to: `${i}-${path.basename(name)}` }));
    const manifest: TrashManifest = { recordingId: row.id, files };
    await mkdir(trash, { recursive: true });
    await writeFile(path.join(trash, MANIFEST), JSON.stringify(manifest));
    for (const { from, to } of files) {
      await rename(resolveInside(this.#opts.recordingsDir, from)!, path.join(trash, to)).catch((err: NodeJS.ErrnoException) => {
        // A file already gone is fine: the row goes anyway.
        if (err.code !== 'ENOENT') throw err;
      });
    }
    return manifest;
  }

  async #restore(manifest: TrashManifest, trash: string, cause: unknown): Promise<void> {
    // The row may be gone after all (a commit that failed on the way back): then the files go too.
    const still = await this.#opts.db.Recording.findByPk(manifest.recordingId, { attributes: ['id'] }).catch(() => 'unknown' as const);
    if (still === null) {
      await rm(trash, { recursive: true, force: true }).catch(() => undefined);
      return;
    }
    try {
      await restoreFromTrash(this.#opts.recordingsDir, trash, manifest);
      this.#opts.log.warn({ err: cause, recordingId: manifest.recordingId }, 'deleting a recording failed; its files were put back');
    } catch (err) {
      this.#opts.log.error({ err, recordingId: manifest.recordingId, trash }, 'deleting a recording failed and its files could not be put back; start-up reconciliation retries');
    }
  }

  async #presenterIds(presenter: string): Promise<number[]> {
    const { id, nickname } = presenterCandidates(presenter);
    const ids = id === null ? [] : [id];
    if (nickname) {
      const key = nicknameKey(nickname);
      let userId = this.#userIds.get(key);
      if (userId === undefined) {
        const [user] = await this.#opts.db.sequelize.query<{ id: number }>('SELECT id FROM users WHERE nicknameKey = ?', {
          replacements: [key],
          type: QueryTypes.SELECT,
        });
        // Only found users are kept (a nickname is never renamed; one not taken yet may be taken any time).
        if (user) {
          userId = Number(user.id);
          if (this.#userIds.size >= 10_000) this.#userIds.clear();
          this.#userIds.set(key, userId);
        }
      }
      if (userId !== undefined && !ids.includes(userId)) ids.push(userId);
    }
    return ids;
  }

  /** Its owner sees every row of theirs; others see the library's broadcasts (the row's `shelf`). */
  #mayShow(row: Recording, viewerId: number): boolean {
    return row.userId === viewerId || row.shelf === SHELF.everyone;
  }

  #view(row: RawRow, viewerId: number, exp: number, sessionId: string | undefined): RecordingView {
    return this.#signed(unsigned(row, viewerId), viewerId, exp, sessionId);
  }

  /** A view with its signed URLs (bound to the session `sessionId`, until `exp`). */
  #signed(row: UnsignedView, viewerId: number, exp: number, sessionId: string | undefined): RecordingView {
    const { signer } = this.#opts;
    const { id } = row;
    const media = signer.url('media', id, exp, sessionId);
    return {
      id,
      liveId: row.liveId,
      title: row.title,
      presenter: row.presenter,
      startedAt: row.startedAt,
      endedAt: row.endedAt,
      durationMs: row.durationMs,
      sizeBytes: row.sizeBytes,
      location: row.location,
      locationCountry: row.locationCountry,
      status: row.status,
      mimeType: row.mimeType,
      mediaUrl: media.url,
      posterUrl: row.hasPoster ? signer.url('poster', id, exp, sessionId).url : null,
      urlsExpireAt: media.expiresAt.toISOString(),
      mine: row.mine,
      trimStartMs: row.trimStartMs,
      trimEndMs: row.trimEndMs,
      downloadUrl: row.mine ? signer.url('download', id, exp, sessionId).url : null,
      cutUrl: row.mine && row.hasCut ? signer.url('cut', id, exp, sessionId).url : null,
    };
  }
}

type PageRow = RawRow & Record<string, unknown>;
/** The most calls of a viewer's own whose keys are kept to merge into their pages without a query. */
const OWN_KEPT_MAX = 500;
/** A branch's row before it is read in full: its id and sort keys (`k0`…), and maybe a carried count. */
type KeyRow = { id: number } & Record<string, unknown>;

/** A sort key's value as a number (dates: ms since the epoch), or null; text keys never come here. */
function keyNumber(value: unknown, type: 'date' | 'number' | 'text'): number | null {
  if (value === null || value === undefined) return null;
  if (type === 'date') return value instanceof Date ? value.getTime() : Date.parse(isoOf(value as string));
  return Number(value);
}

/** Two branch rows in the ascending order of `keys` then id, as the databases sort them (NULL first). */
function compareKeys(a: KeyRow, b: KeyRow, keys: ListQuery['keys']): number {
  for (let i = 0; i < keys.length; i++) {
    const x = keyNumber(a[`k${i}`], keys[i]!.type);
    const y = keyNumber(b[`k${i}`], keys[i]!.type);
    if (x === y) continue;
    if (x === null) return -1;
    if (y === null) return 1;
    return x < y ? -1 : 1;
  }
  return Number(a.id) - Number(b.id);
}

/** What a view holds but its signed URLs (the same for every session of its viewer). */
type UnsignedView = Omit<RecordingView, 'mediaUrl' | 'posterUrl' | 'urlsExpireAt' | 'downloadUrl' | 'cutUrl'> & {
  hasPoster: boolean;
  hasCut: boolean;
};

/** A list answer before signing: what the cache keeps. */
interface ListPage {
  rows: Array<{ view: UnsignedView; json: string }>;
  total: number;
  /** Every total was counted for this answer. */
  counted: boolean;
  /** When the oldest total was counted (ms since the epoch). */
  asOf: number;
  nextCursor: string | null;
  /** listJson's answers for a cached page, by the signed URLs' expiry and the session they are bound to. */
  signed: Map<string, Buffer>;
}

/** The cache key of a list answer: the viewer and the validated query, field by field. */
function listKey(f: RecordingFilters, viewerId: number): string {
  return JSON.stringify([
    viewerId, f.page, f.size, f.from?.getTime() ?? null, f.to?.getTime() ?? null, f.minDurationMs ?? null, f.maxDurationMs ?? null,
    f.location ?? null, f.q ?? null, f.presenter ?? null, f.mine, f.sort, f.order, f.cursor ?? null,
  ]);
}

function unsigned(row: RawRow, viewerId: number): UnsignedView {
  const id = Number(row.id);
  const userId = Number(row.userId);
  return {
    id,
    liveId: row.liveId,
    title: row.title,
    presenter: { id: userId, nickname: row.nickname ?? 'unknown', avatarUrl: avatarUrl(userId) },
    startedAt: isoOf(row.startedAt),
    endedAt: row.endedAt === null ? null : isoOf(row.endedAt),
    durationMs: row.durationMs === null ? null : Number(row.durationMs),
    sizeBytes: row.sizeBytes === null ? null : Number(row.sizeBytes),
    location: row.location,
    locationCountry: countryCodeOfLocation(row.location),
    status: row.status,
    mimeType: row.mimeType,
    mine: userId === viewerId,
    trimStartMs: row.trimStartMs === null ? null : Number(row.trimStartMs),
    trimEndMs: row.trimEndMs === null ? null : Number(row.trimEndMs),
    hasPoster: !!row.posterFileName,
    hasCut: !!row.cutFileName,
  };
}

/** A date as the driver gives it (mysql2: a Date; SQLite: `2025-03-30 10:00:00.000 +00:00`), in ISO 8601. */
function isoOf(value: Date | string): string {
  if (value instanceof Date) return value.toISOString();
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)\s*(Z|[+-]\d{2}:\d{2})?$/.exec(value);
  return new Date(m ? `${m[1]}T${m[2]}${m[3] ?? 'Z'}` : value).toISOString();
}

/** A sort key's value of a row, as a cursor keeps it. */
function cursorValue(value: unknown, type: 'date' | 'number' | 'text'): string | number | null {
  if (value === null || value === undefined) return null;
  if (type === 'date') return isoOf(value as Date | string);
  if (type === 'number') return Number(value);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

async function rollback(transaction: Transaction): Promise<void> {
  if ((transaction as Transaction & { finished?: string }).finished) return;
  await transaction.rollback().catch(() => undefined);
}

/** Puts the files of a trash folder back where its manifest says they were, then removes the folder. */
export async function restoreFromTrash(recordingsDir: string, trash: string, manifest: TrashManifest): Promise<void> {
  for (const { from, to } of manifest.files) {
    const target = resolveInside(recordingsDir, from);
    const source = resolveInside(trash, to);
    if (!target || !source) continue;
    await rename(source, target).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
  await rm(trash, { recursive: true, force: true });
}

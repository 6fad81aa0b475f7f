/**
 * The recordings library (VOD): lists and shows finished recordings with signed URLs of their media and poster,
 * finds a recording's files for the media routes, and deletes a recording with its files. Every file is found by
 * the row's id and resolved inside RECORDINGS_DIR; nothing from a request becomes a path.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { Op, type Transaction } from 'sequelize';
import { OnairError } from '../contract/errors.js';
import type { RecordingList, RecordingView } from '../contract/rest.js';
import type { Database, Recording } from '../db/index.js';
import { nicknameKey } from '../auth/rules.js';
import { filterWhere, hiddenFrom, LIBRARY_STATUSES, listOrder, presenterCandidates, visibleTo, type RecordingFilters } from './RecordingQuery.js';
import { realPathInside, resolveInside } from './recordingPath.js';
import type { SignedKind, UrlSigner } from './UrlSigner.js';

export interface RecordingLibraryOptions {
  db: Pick<Database, 'sequelize' | 'Recording' | 'User' | 'Live'>;
  recordingsDir: string;
  signer: UrlSigner;
  log: Logger;
}

/** A file to serve. */
export interface RecordingFile {
  path: string;
  mimeType: string;
}

/** Files moved aside by a delete wait here until the row is gone (see `reconcileRecordings`). */
export const TRASH_DIR = '.trash';
export const MANIFEST = 'manifest.json';

/** What a delete moved aside: `files` are relative to RECORDINGS_DIR (`from`) and to the trash folder (`to`). */
export interface TrashManifest {
  recordingId: number;
  files: Array<{ from: string; to: string }>;
}

const OWNER_ATTRIBUTES = ['id', 'nickname'];

function notFound(id: number): OnairError {
  return new OnairError('recording.notFound', `recording ${id} was not found`);
}

export class RecordingLibrary {
  readonly #opts: RecordingLibraryOptions;

  constructor(options: RecordingLibraryOptions) {
    this.#opts = options;
  }

  /** One page of the library as `viewerId` sees it. */
  /** `sessionId` (Session.id) binds the signed URLs to the viewer's session. */
  async list(filters: RecordingFilters, viewerId: number, sessionId?: string): Promise<RecordingList> {
    const { Recording, User } = this.#opts.db;
    const presenterIds = filters.presenter === undefined ? null : await this.#presenterIds(filters.presenter);
    const filtered = filterWhere(filters, viewerId, presenterIds);
    const where = { [Op.and]: [...filtered, visibleTo(viewerId)] };
    // The total is everything filtered less what the viewer may not see: two counts that read indexes only,
    // where counting the visible rows directly would test every row against the calls.
    const [all, hidden, rows] = await Promise.all([
      Recording.count({ where: { [Op.and]: filtered } }),
      Recording.count({ where: { [Op.and]: [...filtered, hiddenFrom(viewerId)] } }),
      Recording.findAll({
        where,
        order: listOrder(filters),
        limit: filters.size,
        offset: (filters.page - 1) * filters.size,
        include: [{ model: User, as: 'owner', attributes: OWNER_ATTRIBUTES }],
      }),
    ]);
    const exp = this.#opts.signer.expiry();
    return { recordings: rows.map((row) => this.#view(row, viewerId, exp, sessionId)), page: filters.page, size: filters.size, total: all - hidden };
  }

  /** A recording of the library, as `viewerId` sees it; `recording.notFound` when it is not in the library. */
  async get(id: number, viewerId: number, sessionId?: string): Promise<RecordingView> {
    const row = await this.#visible(id, viewerId);
    return this.#view(row, viewerId, this.#opts.signer.expiry(), sessionId);
  }

  /** The file behind a verified signed URL; `recording.notFound` when the row or the file is gone. */
  async file(id: number, kind: SignedKind): Promise<RecordingFile> {
    const row = await this.#opts.db.Recording.findOne({
      where: { id, status: [...LIBRARY_STATUSES] },
      attributes: ['id', 'fileName', 'posterFileName', 'mimeType'],
    });
    if (!row) throw notFound(id);
    const relative = kind === 'media' ? row.fileName : row.posterFileName;
    const file = relative ? await realPathInside(this.#opts.recordingsDir, relative) : null;
    if (!file) {
      if (relative) this.#opts.log.warn({ recordingId: id, kind }, 'the file of a recording is missing or outside the recordings folder');
      throw new OnairError('recording.notFound', `recording ${id} has no ${kind === 'media' ? 'media file' : 'poster'}`);
    }
    return { path: file, mimeType: kind === 'media' ? row.mimeType : 'image/jpeg' };
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
      if (!row || !(await this.#mayShow(row, viewerId, transaction))) throw notFound(id);
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
  }

  /**
   * Moves a row's files into `trash`. The manifest (where each file came from) is written first, so that a crash
   * at any point leaves enough to put them back.
   */
  async #moveAside(row: Recording, trash: string): Promise<TrashManifest> {
    const files = [row.fileName, row.posterFileName]
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
      const user = await this.#opts.db.User.findOne({ where: { nicknameKey: nicknameKey(nickname) }, attributes: ['id'] });
      if (user && !ids.includes(user.id)) ids.push(user.id);
    }
    return ids;
  }

  async #visible(id: number, viewerId: number): Promise<Recording> {
    const { Recording, User } = this.#opts.db;
    const row = await Recording.findOne({
      where: { id, status: [...LIBRARY_STATUSES] },
      include: [{ model: User, as: 'owner', attributes: OWNER_ATTRIBUTES }],
    });
    if (!row || !(await this.#mayShow(row, viewerId))) throw notFound(id);
    return row;
  }

  /** Everyone sees broadcasts; a call's recording is its owner's only. */
  async #mayShow(row: Recording, viewerId: number, transaction?: Transaction): Promise<boolean> {
    if (row.userId === viewerId || row.liveId === null) return true;
    const live = await this.#opts.db.Live.findOne({ where: { id: row.liveId, kind: { [Op.eq]: 'call' } }, attributes: ['id'], transaction });
    return live === null;
  }

  #view(row: Recording, viewerId: number, exp: number, sessionId: string | undefined): RecordingView {
    const { signer } = this.#opts;
    const media = signer.url('media', row.id, exp, sessionId);
    const owner = row.owner;
    return {
      id: row.id,
      liveId: row.liveId,
      title: row.title,
      presenter: { id: row.userId, nickname: owner?.nickname ?? 'unknown', avatarUrl: `/api/users/${row.userId}/avatar.svg` },
      startedAt: row.startedAt.toISOString(),
      endedAt: row.endedAt ? row.endedAt.toISOString() : null,
      durationMs: row.durationMs,
      sizeBytes: row.sizeBytes,
      location: row.location,
      status: row.status,
      mimeType: row.mimeType,
      mediaUrl: media.url,
      posterUrl: row.posterFileName ? signer.url('poster', row.id, exp, sessionId).url : null,
      urlsExpireAt: media.expiresAt.toISOString(),
      mine: row.userId === viewerId,
    };
  }
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

/**
 * Start-up reconciliation of the recordings folder with the database, after a crash or a hard stop:
 * - a row still `recording` (its live is not on air anywhere) is kept: finalised where possible and marked
 *   `incomplete` with its readable length, or `failed` when nothing was written;
 * - a WebM file without a row is adopted when its name is a live's id (owner, title and start from that live)
 *   and marked `incomplete`; a file nobody can be attributed to is kept untouched and reported;
 * - a finished recording that is not seekable yet or has no poster is finalised again;
 * - files a delete moved aside go back when their row still exists, or are removed when it is gone;
 * - temporary files of an interrupted finalisation are removed.
 * Work that may belong to another process right now (young temporary files, a live on air) is left alone.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { Op, UniqueConstraintError } from 'sequelize';
import { isPublicId, type Database, type Recording } from '../db/index.js';
import type { RecordingFinaliser } from './RecordingFinaliser.js';
import { TEMP_PREFIX } from './RecordingFinaliser.js';
import { MANIFEST, restoreFromTrash, TRASH_DIR, type TrashManifest } from './RecordingLibrary.js';
import { LIBRARY_STATUSES } from './RecordingQuery.js';
import { realPathInside, resolveInside } from './recordingPath.js';

export interface ReconcileOptions {
  db: Pick<Database, 'sequelize' | 'Recording' | 'Live'>;
  recordingsDir: string;
  finaliser: RecordingFinaliser;
  log: Logger;
  /** True when a live is on air (in any process): its recording is being written and is left alone. */
  isOnAir?: (liveId: string) => Promise<boolean>;
  /** Temporary files and trash younger than this may be another process's work in progress (default 10 min). */
  graceMs?: number;
  now?: () => number;
}

export interface ReconcileReport {
  /** Rows left `recording` by a crash, now `incomplete`. */
  interrupted: number[];
  /** Rows left `recording` with nothing readable, now `failed`. */
  failed: number[];
  /** Rows created for files that had none. */
  adopted: number[];
  /** Files without a row that could not be attributed to anyone: kept as they are. */
  unattributed: string[];
  /** Finished recordings finalised again (not seekable, or no poster). */
  refinalised: number[];
  /** Deletes interrupted before their row went: files put back. */
  restored: number[];
  /** Deletes interrupted after their row went: files removed. */
  purged: number[];
  removedTemps: number;
}

const PAGE = 1000;

export async function reconcileRecordings(options: ReconcileOptions): Promise<ReconcileReport> {
  const { db, recordingsDir, finaliser, log } = options;
  const now = options.now ?? Date.now;
  const graceMs = options.graceMs ?? 10 * 60_000;
  const isOnAir = options.isOnAir ?? (async () => false);
  const report: ReconcileReport = { interrupted: [], failed: [], adopted: [], unattributed: [], refinalised: [], restored: [], purged: [], removedTemps: 0 };
  const old = async (file: string) => now() - (await stat(file)).mtimeMs >= graceMs;

  const entries = await readdir(recordingsDir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });

  // 1. Temporary files of a finalisation cut short.
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.startsWith(TEMP_PREFIX)) continue;
    const file = path.join(recordingsDir, entry.name);
    if (!(await old(file).catch(() => false))) continue;
    await rm(file, { force: true });
    report.removedTemps++;
  }

  // 2. Deletes cut short: the trash folder's manifest says where each file came from.
  const trashDir = path.join(recordingsDir, TRASH_DIR);
  for (const entry of await readdir(trashDir, { withFileTypes: true }).catch(() => [])) {
    const trash = path.join(trashDir, entry.name);
    if (!entry.isDirectory() || !(await old(trash).catch(() => false))) continue;
    const manifest = await readFile(path.join(trash, MANIFEST), 'utf8').then((t) => JSON.parse(t) as TrashManifest).catch(() => null);
    const id = Number(manifest?.recordingId);
    const row = manifest && Number.isSafeInteger(id) ? await db.Recording.findByPk(id, { attributes: ['id'] }) : null;
    if (row && manifest) {
      await restoreFromTrash(recordingsDir, trash, manifest);
      report.restored.push(id);
    } else {
      await rm(trash, { recursive: true, force: true });
      if (Number.isSafeInteger(id)) report.purged.push(id);
    }
  }

  // 3. Rows still `recording` whose live is over.
  for (const row of await db.Recording.findAll({ where: { status: 'recording' } })) {
    if (row.liveId && (await isOnAir(row.liveId))) continue;
    const file = await realPathInside(recordingsDir, row.fileName);
    const info = file ? await stat(file).catch(() => null) : null;
    if (!info || info.size === 0) {
      await row.update({ status: 'failed', endedAt: row.startedAt, durationMs: 0, sizeBytes: 0 });
      report.failed.push(row.id);
      continue;
    }
    await keepIncomplete(row, info.mtime, info.size);
    report.interrupted.push(row.id);
  }

  // 4. Files without a row.
  const webms = entries.filter((e) => e.isFile() && !e.name.startsWith('.') && /\.(webm|mkv)$/.test(e.name)).map((e) => e.name);
  const known = new Set<string>();
  for (let i = 0; i < webms.length; i += PAGE) {
    const rows = await db.Recording.findAll({ where: { fileName: webms.slice(i, i + PAGE) }, attributes: ['fileName'] });
    for (const row of rows) known.add(row.fileName);
  }
  for (const name of webms.filter((n) => !known.has(n))) {
    const liveId = name.replace(/\.(webm|mkv)$/, '');
    const live = isPublicId(liveId) ? await db.Live.findByPk(liveId) : null;
    const file = resolveInside(recordingsDir, name);
    const info = file ? await stat(file).catch(() => null) : null;
    if (!live || !info || info.size === 0) {
      report.unattributed.push(name);
      continue;
    }
    if (await isOnAir(liveId)) continue;
    let row: Recording;
    try {
      row = await db.Recording.create({
        liveId, userId: live.userId, title: live.title, fileName: name, startedAt: live.startedAt, location: null,
        status: 'incomplete', ...(name.endsWith('.mkv') ? { mimeType: 'video/x-matroska' } : {}), endedAt: info.mtime, durationMs: Math.max(0, info.mtimeMs - live.startedAt.getTime()), sizeBytes: info.size,
      });
    } catch (err) {
      if (err instanceof UniqueConstraintError) continue; // another process adopted it first
      throw err;
    }
    await keepIncomplete(row, info.mtime, info.size);
    report.adopted.push(row.id);
  }

  // 5. Finished recordings never finalised (a stop between the end of a live and its finalisation).
  const present = new Set(webms);
  // Without ffmpeg there is nothing to improve: no remux, no poster.
  for (let lastId = 0; finaliser.hasFfmpeg; ) {
    const rows = await db.Recording.findAll({
      where: { status: [...LIBRARY_STATUSES], posterFileName: null, id: { [Op.gt]: lastId } },
      attributes: ['id', 'fileName'],
      order: [['id', 'ASC']],
      limit: PAGE,
    });
    if (rows.length === 0) break;
    lastId = rows[rows.length - 1]!.id;
    for (const row of rows) {
      if (report.interrupted.includes(row.id) || report.adopted.includes(row.id) || !present.has(row.fileName)) continue;
      const outcome = await finaliser.enqueue(row.id);
      if (outcome.result === 'finalised') report.refinalised.push(row.id);
    }
  }

  const counts = Object.fromEntries(Object.entries(report).map(([k, v]) => [k, Array.isArray(v) ? v.length : v]));
  if (Object.values(counts).some((n) => n > 0)) log.info({ ...counts, unattributed: report.unattributed }, 'recordings reconciled');
  return report;

  /** Marks a cut-short recording `incomplete`, finalises it, and ends it where its readable media ends. */
  async function keepIncomplete(row: Recording, mtime: Date, size: number): Promise<void> {
    const provisionalMs = Math.max(0, mtime.getTime() - row.startedAt.getTime());
    await row.update({ status: 'incomplete', endedAt: mtime, durationMs: row.durationMs ?? provisionalMs, sizeBytes: size });
    const outcome = await finaliser.enqueue(row.id);
    if (outcome.result === 'finalised' && outcome.durationMs !== null) {
      await db.Recording.update(
        { endedAt: new Date(row.startedAt.getTime() + outcome.durationMs) },
        { where: { id: row.id } },
      );
    }
  }
}

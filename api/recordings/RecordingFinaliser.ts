/**
 * Finalises a recording once it is over: remuxes a WebM without duration or index (as a real KMS writes them, or
 * one cut short) into a seekable one, measures its true duration, and grabs a poster frame from its first seconds.
 * One recording at a time (a FIFO queue), off the request path. The recording's file is replaced atomically
 * (written aside, then renamed) while its row is locked, so a reader or a delete never sees half a file.
 * Without ffmpeg the file is kept as recorded (logged once); without ffprobe the header's duration is used.
 */
import { randomBytes } from 'node:crypto';
import { rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Database } from '../db/index.js';
import type { MediaTools } from './MediaTools.js';
import { posterNameFor, realPathInside, resolveInside } from './recordingPath.js';
import { isSeekable, webmInfo } from './webmInfo.js';

export type FinaliseResult =
  /** Measured (and remuxed and postered where needed and possible). */
  | 'finalised'
  /** No row, or the row was deleted meanwhile. */
  | 'gone'
  /** Still recording, failed, or the finaliser is closed: nothing done. */
  | 'skipped'
  /** The row's file is missing or empty. */
  | 'missing'
  /** Something failed (logged); the file is kept as it was. */
  | 'failed';

export interface FinaliseOutcome {
  recordingId: number;
  result: FinaliseResult;
  remuxed: boolean;
  seekable: boolean;
  durationMs: number | null;
  posterFileName: string | null;
}

export interface RecordingFinaliserOptions {
  db: Pick<Database, 'sequelize' | 'Recording'>;
  recordingsDir: string;
  tools: MediaTools;
  log: Logger;
}

/** Temporary files are dot files with this prefix, next to their target (same file system: rename is atomic). */
export const TEMP_PREFIX = '.onair-tmp-';

/** Where the poster frame is taken: one second in, or the middle of a shorter recording. */
function posterTime(durationMs: number | null): number {
  return durationMs === null ? 0 : Math.min(1, durationMs / 2000);
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

function tempFor(file: string): string {
  return path.join(path.dirname(file), `${TEMP_PREFIX}${randomBytes(6).toString('hex')}-${path.basename(file)}`);
}

export class RecordingFinaliser {
  readonly #opts: RecordingFinaliserOptions;
  readonly #pending = new Map<number, Promise<FinaliseOutcome>>();
  readonly #abort = new AbortController();
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;
  #toldNoFfmpeg = false;

  constructor(options: RecordingFinaliserOptions) {
    this.#opts = options;
  }

  /** True when files can be remuxed and postered here. */
  get hasFfmpeg(): boolean {
    return this.#opts.tools.ffmpeg !== null;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Queues recording `id`; resolves its outcome once done (never rejects). The same id queued twice runs once. */
  enqueue(id: number): Promise<FinaliseOutcome> {
    if (this.#closed) return Promise.resolve(outcome(id, 'skipped'));
    const queued = this.#pending.get(id);
    if (queued) return queued;
    const work = this.#tail.then(() => this.#run(id));
    this.#tail = work;
    this.#pending.set(id, work);
    void work.finally(() => this.#pending.delete(id));
    return work;
  }

  /** Resolves once everything queued so far is done. */
  async idle(): Promise<void> {
    await this.#tail;
  }

  /** Stops taking work, cuts a running ffmpeg short (its file stays as it was) and waits for the queue. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#abort.abort();
    await this.#tail;
  }

  async #run(id: number): Promise<FinaliseOutcome> {
    if (this.#closed) return outcome(id, 'skipped');
    try {
      return await this.#finalise(id);
    } catch (err) {
      this.#opts.log.error({ err, recordingId: id }, 'finalising a recording failed; the file is kept as recorded');
      return outcome(id, 'failed');
    }
  }

  async #finalise(id: number): Promise<FinaliseOutcome> {
    const { db, recordingsDir, tools, log } = this.#opts;
    const row = await db.Recording.findByPk(id);
    if (!row) return outcome(id, 'gone');
    if (row.status === 'recording' || row.status === 'failed') return outcome(id, 'skipped');
    const file = await realPathInside(recordingsDir, row.fileName);
    if (!file || (await sizeOf(file)) === 0) {
      log.warn({ recordingId: id }, 'the file of a recording is missing or empty');
      return outcome(id, 'missing');
    }

    const temps: string[] = [];
    try {
      // 1. A seekable copy, when the file is not seekable yet.
      let media = file;
      let info = await webmInfo(file);
      if (!isSeekable(info) && !tools.ffmpeg) this.#tellNoFfmpeg();
      if (!isSeekable(info) && tools.ffmpeg) {
        const remuxed = tempFor(file);
        temps.push(remuxed);
        try {
          await tools.remux(file, remuxed, this.#abort.signal);
          const remuxedInfo = await webmInfo(remuxed);
          if ((await sizeOf(remuxed)) > 0 && isSeekable(remuxedInfo)) {
            media = remuxed;
            info = remuxedInfo;
          } else {
            log.warn({ recordingId: id }, 'the remuxed recording is still not seekable; keeping the original');
          }
        } catch (err) {
          if (this.#abort.signal.aborted) return outcome(id, 'skipped');
          log.warn({ err, recordingId: id }, 'remuxing a recording failed; keeping the original');
        }
      }

      // 2. Its true length, and whether it has a picture.
      let durationMs = info.durationMs;
      let hasVideo = true;
      if (tools.ffprobe) {
        const probed = await tools.probe(media, this.#abort.signal).catch((err: unknown) => {
          log.warn({ err, recordingId: id }, 'probing a recording failed');
          return null;
        });
        durationMs = probed?.durationMs ?? durationMs;
        hasVideo = probed?.hasVideo ?? true;
      }

      // 3. A poster from its first seconds.
      let posterFileName = row.posterFileName;
      let posterTemp: string | null = null;
      const posterRelative = posterNameFor(row.fileName);
      const posterFile = resolveInside(recordingsDir, posterRelative);
      if (tools.ffmpeg && hasVideo && posterFile) {
        posterTemp = tempFor(posterFile);
        temps.push(posterTemp);
        for (const at of [posterTime(durationMs), 0]) {
          await tools.poster(media, posterTemp, at, this.#abort.signal).catch(() => undefined);
          if ((await sizeOf(posterTemp)) > 0) break;
        }
        if ((await sizeOf(posterTemp)) === 0) {
          log.warn({ recordingId: id }, 'no poster frame could be taken from a recording');
          posterTemp = null;
        }
      }
      if (this.#abort.signal.aborted) return outcome(id, 'skipped');

      // 4. Swap the files in and record the figures, the row locked against a concurrent delete.
      const committed = await db.sequelize.transaction(async (transaction) => {
        const locked = await db.Recording.findByPk(id, { transaction, lock: transaction.LOCK.UPDATE });
        if (!locked) return false;
        if (media !== file) await rename(media, file);
        if (posterTemp && posterFile) {
          await rename(posterTemp, posterFile);
          posterFileName = posterRelative;
        }
        await locked.update(
          { durationMs: durationMs ?? locked.durationMs, sizeBytes: await sizeOf(file), posterFileName },
          { transaction },
        );
        return true;
      });
      if (!committed) return outcome(id, 'gone');
      const done: FinaliseOutcome = {
        recordingId: id, result: 'finalised', remuxed: media !== file, seekable: isSeekable(info), durationMs, posterFileName,
      };
      log.info(done, 'recording finalised');
      return done;
    } finally {
      await Promise.all(temps.map((t) => unlink(t).catch(() => undefined)));
    }
  }

  #tellNoFfmpeg(): void {
    if (this.#toldNoFfmpeg) return;
    this.#toldNoFfmpeg = true;
    this.#opts.log.warn('ffmpeg is not installed: recordings are kept as recorded (files from a real KMS cannot be seeked) and get no poster');
  }
}

function outcome(recordingId: number, result: FinaliseResult): FinaliseOutcome {
  return { recordingId, result, remuxed: false, seekable: false, durationMs: null, posterFileName: null };
}

import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Models } from '../db/index.js';
import type { RecordingStatus } from '../contract/rest.js';
import type { LiveArchive } from './LiveArchive.js';

/**
 * The live archive on the Sequelize models: `lives` rows and the recording row of each recorded live.
 * `recordingEnded` (e.g. the recordings finaliser's `enqueue`) is told of each recording stored at the end of a
 * live; it runs in the background, so the end of a live never waits for it.
 */
export class SequelizeLiveArchive implements LiveArchive {
  readonly #models: Pick<Models, 'Live' | 'Recording'>;
  readonly #recordingsDir: string;
  readonly #recordingEnded: ((recordingId: number) => unknown) | undefined;

  constructor(
    models: Pick<Models, 'Live' | 'Recording'>,
    recordingsDir: string,
    recordingEnded?: (recordingId: number) => unknown,
  ) {
    this.#models = models;
    this.#recordingsDir = recordingsDir;
    this.#recordingEnded = recordingEnded;
  }

  async liveStarted(live: Parameters<LiveArchive['liveStarted']>[0]): Promise<void> {
    await this.#models.Live.create({
      id: live.id,
      userId: live.userId,
      title: live.title,
      kind: live.kind,
      status: 'live',
      startedAt: live.startedAt,
    });
    if (!live.recording) return;
    await this.#models.Recording.create({
      liveId: live.id,
      userId: live.userId,
      title: live.title,
      fileName: live.recording.fileName,
      startedAt: live.startedAt,
      location: live.recording.location,
      status: 'recording',
      ...(live.recording.fileName.endsWith('.mkv') ? { mimeType: 'video/x-matroska' } : {}),
    });
  }

  async liveEnded(end: Parameters<LiveArchive['liveEnded']>[0]): Promise<number | null> {
    await this.#models.Live.update(
      {
        status: end.reason === 'failed' ? 'failed' : 'ended',
        endedAt: end.endedAt,
        endReason: end.reason,
        peakViewers: end.peakViewers,
        totalViewers: end.totalViewers,
      },
      { where: { id: end.id } },
    );
    const recording = await this.#models.Recording.findOne({ where: { liveId: end.id } });
    if (!recording) return null;
    const sizeBytes = await fileSize(path.join(this.#recordingsDir, recording.fileName));
    // A recorder that confirmed its stop wrote a whole file; one cut short by a lost media server is readable
    // up to its last cluster; no bytes at all is a failed recording.
    const status: RecordingStatus = sizeBytes === 0 ? 'failed' : end.recordingStopped ? 'ready' : 'incomplete';
    await recording.update({
      endedAt: end.endedAt,
      durationMs: end.endedAt.getTime() - end.startedAt.getTime(),
      sizeBytes,
      status,
    });
    // Finalisation (seekable file, true duration, poster) happens behind the end of the live.
    if (status !== 'failed')
      void Promise.resolve()
        .then(() => this.#recordingEnded?.(recording.id))
        .catch(() => undefined);
    return recording.id;
  }

  async closeInterrupted(isOnAir: (liveId: string) => Promise<boolean>): Promise<string[]> {
    const rows = await this.#models.Live.findAll({ where: { status: 'live' }, attributes: ['id', 'startedAt'] });
    const closed: string[] = [];
    for (const row of rows) {
      if (await isOnAir(row.id)) continue;
      // Its end is not known: the recording's readable length is the best guess, else its start.
      const recording = await this.#models.Recording.findOne({ where: { liveId: row.id }, attributes: ['durationMs'] });
      const endedAt = new Date(row.startedAt.getTime() + (recording?.durationMs ?? 0));
      const [count] = await this.#models.Live.update(
        { status: 'ended', endReason: 'interrupted', endedAt },
        { where: { id: row.id, status: 'live' } },
      );
      if (count) closed.push(row.id);
    }
    return closed;
  }

  async recordingIdOf(liveId: string): Promise<number | null> {
    const recording = await this.#models.Recording.findOne({ where: { liveId }, attributes: ['id'] });
    return recording?.id ?? null;
  }
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

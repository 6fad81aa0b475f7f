/**
 * The recordings library, assembled: `createRecordings()` gives the REST router (mount at `/api/recordings`),
 * `stored` (hand it to the live archive: it finalises a recording, then announces it) and the start-up
 * reconciliation.
 */
import type { Logger } from 'pino';
import type { Sessions } from '../auth/Sessions.js';
import type { Config } from '../config.js';
import { SHELF } from '../db/Recording.js';
import type { Database } from '../db/index.js';
import type { FinaliseOutcome } from './RecordingFinaliser.js';
import { MediaTools } from './MediaTools.js';
import { RecordingFinaliser } from './RecordingFinaliser.js';
import { RecordingLibrary } from './RecordingLibrary.js';
import { reconcileRecordings, type ReconcileOptions, type ReconcileReport } from './reconcileRecordings.js';
import { recordingsRouter } from './routes.js';
import { UrlSigner, type UrlSignerOptions } from './UrlSigner.js';
import type { Router } from 'express';
import type { Store } from '../store/Store.js';

export { MediaTools } from './MediaTools.js';
export { RecordingFinaliser, type FinaliseOutcome } from './RecordingFinaliser.js';
export { RecordingLibrary } from './RecordingLibrary.js';
export { reconcileRecordings, type ReconcileReport } from './reconcileRecordings.js';
export { recordingsRouter } from './routes.js';
export { UrlSigner } from './UrlSigner.js';

export interface RecordingsDeps {
  db: Database;
  config: Pick<Config, 'recordingsDir' | 'signingSecret'>;
  sessions: Sessions;
  log: Logger;
  /** Shares the library's version (and so its cached answers' validity) between API processes. */
  store?: Store;
  /** Detected when absent. */
  tools?: MediaTools;
  /** Signed URL lifetime and rounding (default 30 min, rounded up to 5 min). */
  urls?: UrlSignerOptions;
  /** Tells every signed-in user's open list that a recording entered the library or left it. */
  announce?: RecordingAnnouncer;
}

/** Where the library's changes go (socket events `recordings:added` and `recordings:removed`). */
export interface RecordingAnnouncer {
  added(recordingId: number): void;
  removed(recordingId: number): void;
}

export interface Recordings {
  /** Mount at `/api/recordings`. */
  router: Router;
  library: RecordingLibrary;
  finaliser: RecordingFinaliser;
  /**
   * A live's recording was stored: finalises it, then announces it when everyone may see it (a broadcast that is
   * not unlisted). Resolves the finaliser's outcome; never rejects.
   */
  stored(recordingId: number): Promise<FinaliseOutcome>;
  signer: UrlSigner;
  tools: MediaTools;
  /** Start-up reconciliation (see reconcileRecordings.ts); never rejects: failures are logged. */
  reconcile(options?: Pick<ReconcileOptions, 'isOnAir' | 'graceMs'>): Promise<ReconcileReport | null>;
  /** The last reconciliation started, or null (so that tests can wait for the start-up one). */
  readonly reconciling: Promise<ReconcileReport | null> | null;
  /** Stops the finaliser (a running remux is cut short; the file stays as it was) and the library. Idempotent. */
  close(): Promise<void>;
}

export async function createRecordings(deps: RecordingsDeps): Promise<Recordings> {
  const log = deps.log.child({ module: 'recordings' });
  const tools = deps.tools ?? (await MediaTools.detect());
  if (!tools.ffmpeg) log.warn('ffmpeg was not found: recordings will not be remuxed (seekable) nor get posters');
  else if (!tools.ffprobe) log.warn('ffprobe was not found: durations come from the files\' headers');
  const signer = new UrlSigner(deps.config.signingSecret, deps.urls);
  const library = new RecordingLibrary({
    db: deps.db,
    recordingsDir: deps.config.recordingsDir,
    signer,
    log,
    tools,
    ...(deps.store ? { store: deps.store } : {}),
    ...(deps.announce ? { onDeleted: (id: number) => deps.announce?.removed(id) } : {}),
  });
  const finaliser = new RecordingFinaliser({ db: deps.db, recordingsDir: deps.config.recordingsDir, tools, log });
  let reconciling: Promise<ReconcileReport | null> | null = null;
  return {
    router: recordingsRouter({ library, signer, sessions: deps.sessions }),
    library,
    finaliser,
    async stored(recordingId) {
      const done = await finaliser.enqueue(recordingId);
      if (done.result !== 'finalised' || !deps.announce) return done;
      const row = await deps.db.Recording.findByPk(recordingId, { attributes: ['id', 'shelf'] }).catch((err: unknown) => {
        log.warn({ err, recordingId }, 'could not look up a finalised recording to announce it');
        return null;
      });
      if (row && Number(row.shelf) === SHELF.everyone) deps.announce.added(recordingId);
      return done;
    },
    signer,
    tools,
    reconcile(options = {}) {
      reconciling = reconcileRecordings({ db: deps.db, recordingsDir: deps.config.recordingsDir, finaliser, log, ...options }).catch((err: unknown) => {
        log.error({ err }, 'reconciling the recordings failed');
        return null;
      });
      return reconciling;
    },
    get reconciling() {
      return reconciling;
    },
    async close() {
      library.close();
      await finaliser.close();
    },
  };
}

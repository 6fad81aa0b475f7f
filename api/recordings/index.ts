/**
 * The recordings library, assembled: `createRecordings()` gives the REST router (mount at `/api/recordings`),
 * the finaliser (hand `finaliser.enqueue` to the live archive) and the start-up reconciliation.
 */
import type { Logger } from 'pino';
import type { Sessions } from '../auth/Sessions.js';
import type { Config } from '../config.js';
import type { Database } from '../db/index.js';
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
}

export interface Recordings {
  /** Mount at `/api/recordings`. */
  router: Router;
  library: RecordingLibrary;
  finaliser: RecordingFinaliser;
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
  const library = new RecordingLibrary({ db: deps.db, recordingsDir: deps.config.recordingsDir, signer, log, tools, store: deps.store });
  const finaliser = new RecordingFinaliser({ db: deps.db, recordingsDir: deps.config.recordingsDir, tools, log });
  let reconciling: Promise<ReconcileReport | null> | null = null;
  return {
    router: recordingsRouter({ library, signer, sessions: deps.sessions }),
    library,
    finaliser,
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

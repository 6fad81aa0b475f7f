import type { LiveKind } from '../contract/rest.js';
import type { LiveEndReason } from '../../media/Live.js';

/** What the live layer stores in the database: every live, and the recording each broadcast leaves. */
export interface LiveArchive {
  /** A live went on air; with a recording row (status `recording`) when it is recorded. */
  liveStarted(live: {
    id: string;
    userId: number;
    title: string;
    kind: LiveKind;
    startedAt: Date;
    recording: { fileName: string; location: string } | null;
  }): Promise<void>;
  /** The live is over; its recording is measured and marked. Resolves the recording's id, if any. */
  liveEnded(end: {
    id: string;
    startedAt: Date;
    endedAt: Date;
    reason: LiveEndReason;
    peakViewers: number;
    totalViewers: number;
    recordingStopped: boolean;
  }): Promise<number | null>;
  recordingIdOf(liveId: string): Promise<number | null>;
  /** Close the `live` rows that are on air nowhere (a crashed server's): ended, reason `interrupted`. Resolves their ids. */
  closeInterrupted(isOnAir: (liveId: string) => Promise<boolean>): Promise<string[]>;
}

/** What media objects need from the runtime that owns them. */
import type { EngineConfig } from '../config.js';
import type { Params } from '../protocol/JsonRpc.js';
import type { DtlsAdmission } from '../rtp/DtlsAdmission.js';

export interface RuntimeContext {
  readonly config: EngineConfig;
  /** The DTLS handshakes this process works on at once (ENGINE_DTLS_CONCURRENCY). */
  readonly dtlsAdmission: DtlsAdmission;
  emitEvent(objectId: string, type: string, data: Params): void;
  /** Reports objects that released themselves (a failed set-up) so that the server forgets them. */
  selfReleased(objectIds: string[]): void;
}

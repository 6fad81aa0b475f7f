/** Messages between the server and a media worker process (over the IPC channel). */
import type { Params } from '../protocol/JsonRpc.js';
import type { KmsErrorJson } from '../protocol/KurentoError.js';
import type { ObjectType } from '../protocol/KurentoModel.js';
import type { RelayOp } from '../relay/RelayHub.js';
import type { HostStats } from './MediaHost.js';

export type WorkerRequest =
  | { t: 'req'; id: number; op: 'create'; objectId: string; type: ObjectType; params: Params }
  | { t: 'req'; id: number; op: 'invoke'; objectId: string; operation: string; params: Params }
  | { t: 'req'; id: number; op: 'release'; objectId: string }
  | { t: 'req'; id: number; op: 'relay'; relayOp: RelayOp; params: Params }
  | { t: 'req'; id: number; op: 'stats' }
  | { t: 'req'; id: number; op: 'close' };

export type WorkerMessage =
  | { t: 'ready' }
  | { t: 'res'; id: number; load: number; ok: true; value?: unknown }
  | { t: 'res'; id: number; load: number; ok: false; error: KmsErrorJson }
  | { t: 'event'; objectId: string; type: string; data: Params }
  | { t: 'released'; objectIds: string[]; load: number }
  /** The idle worker is about to block in a garbage collection (true), or is done (false): see IdleMemory. */
  | { t: 'collecting'; collecting: boolean };

export type { HostStats };

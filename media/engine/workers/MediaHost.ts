/**
 * Where pipelines live: in the server process (LocalHost) or in a worker process (WorkerHost).
 * The server routes every operation on a pipeline and its elements to the one host that owns it.
 */
import type { EventEmitter } from 'node:events';
import v8 from 'node:v8';
import type { Params } from '../protocol/JsonRpc.js';
import type { ObjectType } from '../protocol/KurentoModel.js';
import type { RelayOp } from '../relay/RelayHub.js';

export interface HostEvents {
  /** A media object emitted a Kurento event (data already in wire shape). */
  event: [objectId: string, type: string, data: Params];
  /** Objects the host released by itself (a failed set-up); the server forgets them. */
  released: [objectIds: string[]];
  /** The host is gone, with every pipeline in it. */
  exit: [error: Error];
}

export interface HostStats {
  name: string;
  pid: number;
  pipelines: number;
  elements: number;
  webRtcEndpoints: number;
  udpSockets: number;
  timers: number;
  /** Relays: sinks sending this host's sources to other hosts, sources feeding its sinks from them; packets. */
  relaySinks: number;
  relaySources: number;
  relayedOut: number;
  relayedIn: number;
  relayNacks: number;
  rssBytes: number;
  /** V8 heap in use, and memory held outside it (Buffers), in bytes. */
  heapBytes: number;
  externalBytes: number;
  /** V8 heap reserved (in use or not), and the part of externalBytes that is ArrayBuffers (Buffers), in bytes. */
  heapTotalBytes: number;
  arrayBuffersBytes: number;
  /** V8's heap by space (new_space, old_space, large_object_space, …): committed and used bytes. */
  heapSpaces: Record<string, { size: number; used: number }>;
  /** CPU time used since the host started, in microseconds. */
  cpuMicros: number;
  /** How often an idle worker gave its memory back (IdleMemory; workers only). */
  idleMemoryReleases?: number;
}

export interface MediaHost extends EventEmitter<HostEvents> {
  readonly name: string;
  /** Placement weight: the pipelines and elements the host carries (and is about to). */
  readonly load: number;
  /**
   * Counts a placement decided, until the create it is for is sent (then that create counts, until its answer), so
   * that simultaneous creations spread. The function returned drops it; calling it again does nothing.
   */
  reserve(): () => void;
  create(id: string, type: ObjectType, constructorParams: Params): Promise<void>;
  invoke(id: string, operation: string, params: Params): Promise<unknown>;
  release(id: string): Promise<void>;
  /** A relay operation (see RelayHub): media between a source here and sinks on another host. */
  relay(op: RelayOp, params: Params): Promise<Params | undefined>;
  stats(): Promise<HostStats>;
  close(): Promise<void>;
}

/** V8's heap spaces of this process: committed (size) and used bytes of each. */
export function heapSpaces(): Record<string, { size: number; used: number }> {
  const spaces: Record<string, { size: number; used: number }> = {};
  for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = { size: s.space_size, used: s.space_used_size };
  return spaces;
}

/** Counts the handles a leak check cares about in this process. */
export function processHandles(): { udpSockets: number; timers: number } {
  let udpSockets = 0;
  let timers = 0;
  for (const name of process.getActiveResourcesInfo()) {
    if (name === 'UDPWrap' || name === 'UDPWRAP') udpSockets += 1;
    else if (name === 'Timeout') timers += 1;
  }
  return { udpSockets, timers };
}

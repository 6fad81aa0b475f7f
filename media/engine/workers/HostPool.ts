/**
 * The media hosts behind the one WebSocket endpoint: the server process itself (workers = 0) or N
 * worker processes. A new pipeline goes to the least loaded host and stays there; a worker that dies
 * is reported (its pipelines are gone) and replaced.
 */
import { EventEmitter } from 'node:events';
import type { EngineConfig } from '../config.js';
import type { Params } from '../protocol/JsonRpc.js';
import { MediaRuntime } from '../elements/MediaRuntime.js';
import { LocalHost } from './LocalHost.js';
import type { HostStats, MediaHost } from './MediaHost.js';
import { WorkerHost } from './WorkerHost.js';

export interface HostPoolEvents {
  event: [host: MediaHost, objectId: string, type: string, data: Params];
  released: [host: MediaHost, objectIds: string[]];
  hostExit: [host: MediaHost, error: Error];
}

/** A host picked for a new object, counted there until `release` (once the object's create is sent, or given up). */
export interface Placement {
  host: MediaHost;
  release: () => void;
}

export class HostPool extends EventEmitter<HostPoolEvents> {
  readonly #hosts: MediaHost[] = [];
  #closed = false;

  private constructor(private readonly config: EngineConfig) {
    super();
  }

  static async start(config: EngineConfig): Promise<HostPool> {
    const pool = new HostPool(config);
    if (config.workers === 0) {
      await MediaRuntime.prepare();
      pool.#add(new LocalHost(config));
      return pool;
    }
    const workers = await Promise.all(
      Array.from({ length: config.workers }, (_, i) => WorkerHost.start(`worker-${i + 1}`, config)),
    );
    for (const worker of workers) pool.#add(worker);
    return pool;
  }

  get hosts(): readonly MediaHost[] {
    return this.#hosts;
  }

  /**
   * The host a new object goes to: the least loaded one (pipelines + elements), the first on ties. It counts the
   * object as placed there until the caller drops the reservation, once the object's create is sent (or given up).
   */
  pick(): Placement {
    let best = this.#hosts[0];
    if (!best) throw new Error('no media host');
    for (const host of this.#hosts) if (host.load < best.load) best = host;
    return { host: best, release: best.reserve() };
  }

  async stats(): Promise<HostStats[]> {
    const settled = await Promise.allSettled(this.#hosts.map((host) => host.stats()));
    return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const hosts = this.#hosts.splice(0);
    await Promise.allSettled(hosts.map((host) => host.close()));
  }

  #add(host: MediaHost): void {
    this.#hosts.push(host);
    host.on('event', (objectId, type, data) => this.emit('event', host, objectId, type, data));
    host.on('released', (ids) => this.emit('released', host, ids));
    host.once('exit', (error) => this.#onExit(host, error));
  }

  #onExit(host: MediaHost, error: Error): void {
    const index = this.#hosts.indexOf(host);
    if (index >= 0) this.#hosts.splice(index, 1);
    this.emit('hostExit', host, error);
    if (this.#closed || !(host instanceof WorkerHost)) return;
    WorkerHost.start(host.name, this.config).then(
      (replacement) => (this.#closed ? void replacement.close() : this.#add(replacement)),
      () => undefined,
    );
  }
}

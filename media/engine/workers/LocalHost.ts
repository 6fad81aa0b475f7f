/** A media host inside the server process itself (ENGINE_WORKERS=0, and the runtime of each worker). */
import { EventEmitter } from 'node:events';
import type { EngineConfig } from '../config.js';
import { MediaRuntime } from '../elements/MediaRuntime.js';
import type { Params } from '../protocol/JsonRpc.js';
import type { ObjectType } from '../protocol/KurentoModel.js';
import type { RelayOp } from '../relay/RelayHub.js';
import { heapSpaces, type HostEvents, type HostStats, type MediaHost } from './MediaHost.js';

export class LocalHost extends EventEmitter<HostEvents> implements MediaHost {
  readonly name = 'local';
  readonly #runtime: MediaRuntime;
  readonly #startCpu = process.cpuUsage();

  constructor(config: EngineConfig) {
    super();
    this.#runtime = new MediaRuntime(config);
    this.#runtime.on('event', (objectId, type, data) => this.emit('event', objectId, type, data));
    this.#runtime.on('released', (ids) => this.emit('released', ids));
  }

  get load(): number {
    return this.#runtime.load;
  }

  reserve(): () => void {
    return () => undefined;
  }

  async create(id: string, type: ObjectType, constructorParams: Params): Promise<void> {
    this.#runtime.create(id, type, constructorParams);
  }

  invoke(id: string, operation: string, params: Params): Promise<unknown> {
    return this.#runtime.invoke(id, operation, params);
  }

  async release(id: string): Promise<void> {
    this.#runtime.release(id);
  }

  relay(op: RelayOp, params: Params): Promise<Params | undefined> {
    return this.#runtime.relays.run(op, params);
  }

  async stats(): Promise<HostStats> {
    const cpu = process.cpuUsage(this.#startCpu);
    const usage = process.memoryUsage();
    return {
      name: this.name,
      pid: process.pid,
      ...this.#runtime.stats(),
      rssBytes: usage.rss,
      heapBytes: usage.heapUsed,
      externalBytes: usage.external,
      heapTotalBytes: usage.heapTotal,
      arrayBuffersBytes: usage.arrayBuffers,
      heapSpaces: heapSpaces(),
      cpuMicros: cpu.user + cpu.system,
    };
  }

  async close(): Promise<void> {
    this.#runtime.close();
  }
}

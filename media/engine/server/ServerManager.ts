/**
 * `manager_ServerManager`: what the server reports about itself (getInfo with the core, elements and
 * filters modules, pipelines, sessions, memory, CPU). Served by the server process, never a worker.
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { KurentoError } from '../protocol/KurentoError.js';
import { SERVER_MANAGER_ID } from '../protocol/KurentoModel.js';
import { ParamReader } from '../protocol/ParamReader.js';
import type { Params } from '../protocol/JsonRpc.js';
import type { HostPool } from '../workers/HostPool.js';
import type { ObjectRegistry } from './ObjectRegistry.js';

const VERSION = '7.3.0';
const GENERATION_TIME = 'Jan  1 2024 00:00:00';
const MODULES = [
  { name: 'core', factories: ['MediaPipeline', 'PassThrough'] },
  { name: 'elements', factories: ['WebRtcEndpoint', 'RtpEndpoint', 'RecorderEndpoint', 'PlayerEndpoint'] },
  { name: 'filters', factories: [] as string[] },
];
const MAX_CPU_SAMPLE_MS = 10_000;

export interface ServerManagerSources {
  registry: ObjectRegistry;
  hosts: HostPool;
  sessionIds(): string[];
}

export class ServerManager {
  readonly id = SERVER_MANAGER_ID;
  name = SERVER_MANAGER_ID;

  constructor(private readonly sources: ServerManagerSources) {}

  static info(): Params {
    return {
      version: VERSION,
      type: 'KMS',
      capabilities: ['transactions'],
      modules: MODULES.map((m) => ({
        version: VERSION,
        name: m.name,
        generationTime: GENERATION_TIME,
        factories: m.factories,
      })),
    };
  }

  async invoke(operation: string, raw: Params): Promise<unknown> {
    const p = new ParamReader(raw);
    switch (operation) {
      case 'getInfo':
        return ServerManager.info();
      case 'getPipelines':
      case 'getChildren':
        return this.sources.registry.pipelineIds();
      case 'getSessions':
        return this.sources.sessionIds();
      case 'getMetadata':
        return '';
      case 'getUsedMemory':
        return Math.round((await this.#rssBytes()) / 1024);
      case 'getCpuCount':
        return os.availableParallelism();
      case 'getUsedCpu':
        return this.#usedCpu(p.integer('interval'));
      case 'getKmd': {
        const module = p.string('moduleName');
        if (!MODULES.some((m) => m.name === module)) {
          throw new KurentoError('SERVER_MANAGER_ERROR_KMD_NOT_FOUND', `Module '${module}' not found`);
        }
        return JSON.stringify({ name: module, version: VERSION });
      }
      case 'getName':
        return this.name;
      case 'setName':
        this.name = p.string('name');
        return undefined;
      case 'getCreationTime':
        return Math.floor(Date.now() / 1000 - process.uptime());
      case 'getSendTagsInEvents':
        return false;
      case 'getTags':
        return [];
      default:
        throw new KurentoError('MEDIA_OBJECT_METHOD_NOT_FOUND', `Method '${operation}' not found in ServerManager`);
    }
  }

  async #rssBytes(): Promise<number> {
    const hosts = await this.sources.hosts.stats();
    const workers = hosts.filter((h) => h.pid !== process.pid).reduce((sum, h) => sum + h.rssBytes, 0);
    return process.memoryUsage.rss() + workers;
  }

  async #cpuMicros(): Promise<number> {
    const hosts = await this.sources.hosts.stats();
    const own = process.cpuUsage();
    return own.user + own.system + hosts.filter((h) => h.pid !== process.pid).reduce((sum, h) => sum + h.cpuMicros, 0);
  }

  /** Percentage of the machine's CPU used over `intervalMs`. */
  async #usedCpu(intervalMs: number): Promise<number> {
    const ms = Math.min(Math.max(intervalMs, 1), MAX_CPU_SAMPLE_MS);
    const before = await this.#cpuMicros();
    await sleep(ms);
    const used = (await this.#cpuMicros()) - before;
    return (100 * used) / (ms * 1000 * os.availableParallelism());
  }
}

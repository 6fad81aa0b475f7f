/**
 * A media host in a worker process (worker.ts), reached over IPC. Requests are matched to replies
 * by id; if the process dies, pending requests fail and `exit` is emitted.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { EngineConfig } from '../config.js';
import type { Params } from '../protocol/JsonRpc.js';
import { KurentoError } from '../protocol/KurentoError.js';
import type { ObjectType } from '../protocol/KurentoModel.js';
import type { RelayOp } from '../relay/RelayHub.js';
import type { HostEvents, HostStats, MediaHost } from './MediaHost.js';
import type { WorkerMessage, WorkerRequest } from './WorkerProtocol.js';

type Pending = { resolve: (value: unknown) => void; reject: (error: KurentoError) => void; creates: boolean };
type RequestBody = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 't' | 'id'> : never) : never;

const WORKER_ENTRY = fileURLToPath(new URL('./worker.ts', import.meta.url));
const READY_TIMEOUT_MS = 20_000;
/** Node flags of a media worker; ENGINE_WORKER_NODE_FLAGS adds to them (e.g. to profile). */
const WORKER_NODE_FLAGS = (process.env.ENGINE_WORKER_NODE_FLAGS ?? '').split(' ').filter(Boolean);
/** An idle worker collects its garbage itself and gives the memory back (IdleMemory). */
const WORKER_OWN_FLAGS = ['--expose-gc'];
const CLOSE_TIMEOUT_MS = 3_000;
/**
 * How long stats wait for a busy worker before the last figures answer instead (the fresh ones replace them when
 * they come): the server's getUsedMemory, which clients use as a liveness ping, must not wait on the busiest worker.
 */
const STATS_WAIT_MS = 500;

export class WorkerHost extends EventEmitter<HostEvents> implements MediaHost {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  /** The load the worker reported with its last message: what it carries. */
  #reported = 0;
  /** Placements decided (reserve) and not dropped yet: their create is not sent. */
  #reserved = 0;
  /** Creates sent and not answered yet: not in #reported until their answer. */
  #creating = 0;
  #exited = false;
  #closing: Promise<void> | undefined;
  /** While the idle worker collects its garbage (IdleMemory), stats come from its last answer. */
  #collecting = false;
  #lastStats: HostStats | undefined;
  #statsRequest: Promise<HostStats> | undefined;

  private constructor(
    readonly name: string,
    child: ChildProcess,
  ) {
    super();
    this.#child = child;
    child.on('message', (message: WorkerMessage) => this.#onMessage(message));
    child.once('exit', (code, signal) => this.#onExit(code, signal));
  }

  static start(name: string, config: EngineConfig): Promise<WorkerHost> {
    const child = fork(WORKER_ENTRY, [], {
      execArgv: [...WORKER_OWN_FLAGS, ...WORKER_NODE_FLAGS, '--import', import.meta.resolve('tsx')],
      env: workerEnv(config, name),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    const host = new WorkerHost(name, child);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${name} did not start`));
      }, READY_TIMEOUT_MS);
      const onMessage = (message: WorkerMessage) => {
        if (message.t !== 'ready') return;
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(host);
      };
      child.on('message', onMessage);
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`${name} exited during start`));
      });
    });
  }

  get pid(): number {
    return this.#child.pid ?? 0;
  }

  /**
   * What the worker carries by its last report, plus what is on its way to it: placements decided and creates not
   * answered yet. A report does not wipe out the creates still in flight (it did: under a storm of joins every answer
   * reset the count, and one worker got 35 of 61 viewers).
   */
  get load(): number {
    return this.#reported + this.#reserved + this.#creating;
  }

  reserve(): () => void {
    this.#reserved += 1;
    let dropped = false;
    return () => {
      if (dropped) return;
      dropped = true;
      this.#reserved -= 1;
    };
  }

  async create(objectId: string, type: ObjectType, params: Params): Promise<void> {
    await this.#request({ op: 'create', objectId, type, params });
  }

  invoke(objectId: string, operation: string, params: Params): Promise<unknown> {
    return this.#request({ op: 'invoke', objectId, operation, params });
  }

  async release(objectId: string): Promise<void> {
    await this.#request({ op: 'release', objectId });
  }

  async relay(relayOp: RelayOp, params: Params): Promise<Params | undefined> {
    return (await this.#request({ op: 'relay', relayOp, params })) as Params | undefined;
  }

  async stats(): Promise<HostStats> {
    const last = this.#lastStats;
    if (this.#collecting && last) return { ...last };
    this.#statsRequest ??= this.#request({ op: 'stats' })
      .then((stats) => (this.#lastStats = stats as HostStats))
      .finally(() => (this.#statsRequest = undefined));
    if (!last) return this.#statsRequest;
    let timer: NodeJS.Timeout | undefined;
    const stale = new Promise<HostStats>((resolve) => {
      timer = setTimeout(() => resolve({ ...last }), STATS_WAIT_MS);
    });
    try {
      return await Promise.race([this.#statsRequest, stale]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Asks the worker to release everything and exit; kills it if it does not. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      if (this.#exited) return resolve();
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
      this.#child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.#request({ op: 'close' }).catch(() => this.#child.kill('SIGKILL'));
    });
    return this.#closing;
  }

  /** Kills the worker abruptly (fault injection in tests). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.#child.kill(signal);
  }

  #request(body: RequestBody): Promise<unknown> {
    if (this.#exited) return Promise.reject(gone(this.name));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const creates = body.op === 'create';
      if (creates) this.#creating += 1;
      this.#pending.set(id, { resolve, reject, creates });
      this.#child.send({ t: 'req', id, ...body }, (err) => {
        if (!err) return;
        this.#take(id);
        reject(gone(this.name));
      });
    });
  }

  /** The request `id` is answered (or lost): no longer pending, a create no longer in flight. */
  #take(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    if (!pending) return undefined;
    this.#pending.delete(id);
    if (pending.creates) this.#creating -= 1;
    return pending;
  }

  #onMessage(message: WorkerMessage): void {
    switch (message.t) {
      case 'res': {
        this.#reported = message.load;
        const pending = this.#take(message.id);
        if (!pending) return;
        if (message.ok) pending.resolve(message.value);
        else pending.reject(KurentoError.fromJSON(message.error));
        return;
      }
      case 'event':
        this.emit('event', message.objectId, message.type, message.data);
        return;
      case 'released':
        this.#reported = message.load;
        this.emit('released', message.objectIds);
        return;
      case 'collecting':
        this.#collecting = message.collecting;
        return;
      case 'ready':
        return;
    }
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.#exited = true;
    for (const pending of this.#pending.values()) pending.reject(gone(this.name));
    this.#pending.clear();
    this.#creating = 0;
    if (this.#closing) return;
    this.emit('exit', new Error(`${this.name} exited (${signal ?? code})`));
  }
}

function gone(name: string): KurentoError {
  return new KurentoError('MEDIA_OBJECT_NOT_AVAILABLE', `Media worker ${name} is gone`);
}

/** A worker's environment: the server's, minus the client secret (workers never see clients). */
function workerEnv(config: EngineConfig, name: string): NodeJS.ProcessEnv {
  const { ENGINE_SECRET: _secret, ...env } = process.env;
  const { secret: _own, ...shared } = config;
  return { ...env, ENGINE_WORKER_CONFIG: JSON.stringify({ ...shared, secret: undefined }), ENGINE_WORKER_NAME: name };
}

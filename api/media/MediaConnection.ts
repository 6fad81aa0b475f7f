/**
 * The media servers this API process drives, as one pool: the Kurento Media Servers of KMS_URIS (or KMS_URI), or
 * (unset) ENGINE_INSTANCES of onair's embedded engine, each started here as a child process on a free loopback
 * port and started again if it dies.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { MediaPool } from '../../media/MediaPool.js';
import { MediaServer, redactUri, type MediaServerOptions } from '../../media/MediaServer.js';
import { freePort, newEngineSecret, spawnEngine, type SpawnedEngine } from '../../media/engine/spawn.js';

/** What of the configuration the media servers need. */
export type MediaConfig = Pick<
  Config,
  | 'kmsUris'
  | 'engineInstances'
  | 'engineWorkers'
  | 'mediaServerCapacity'
  | 'mediaReconcileMs'
  | 'videoBandwidth'
  | 'storePrefix'
  | 'recordingsDir'
>;

export interface MediaConnectionOptions {
  /** Environment for the embedded engine (tests shorten grace periods, set workers...). */
  engineEnv?: Record<string, string>;
  /** How long a dropped connection may take to come back before lives end. */
  lossGraceMs?: number;
  /** How often lives are checked against the media server (default: MEDIA_RECONCILE_MS). */
  reconcileMs?: number;
  /** How often the pool samples each server's load (default 5000 ms). */
  loadSampleMs?: number;
}

/** The media check of /healthz: down when no server answers, degraded when some do not. */
export interface MediaHealth {
  ok: boolean;
  degraded?: boolean;
  detail?: string;
}

/** One media server of the pool, and the embedded engine behind it when this process started one. */
class Slot {
  readonly server: MediaServer;
  readonly #log: Logger;
  #engine: SpawnedEngine | undefined;
  readonly #respawn: (() => Promise<SpawnedEngine>) | undefined;
  #restarting: Promise<void> | undefined;
  #closed = false;

  constructor(server: MediaServer, log: Logger, engine?: SpawnedEngine, respawn?: () => Promise<SpawnedEngine>) {
    this.server = server;
    this.#log = log;
    this.#engine = engine;
    this.#respawn = respawn;
    server.on('lost', () => void this.#restartEngineIfDead());
  }

  get engine(): SpawnedEngine | undefined {
    return this.#engine;
  }

  /** Called after the pool closed the server: stop the embedded engine. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#restarting;
    await this.#engine?.stop();
  }

  #restartEngineIfDead(): Promise<void> {
    const engine = this.#engine;
    if (!engine || !this.#respawn || this.#closed || this.#restarting || isAlive(engine.pid)) return Promise.resolve();
    const respawn = this.#respawn;
    this.#restarting = (async () => {
      try {
        this.#log.warn({ pid: engine.pid }, 'the embedded media engine died: starting it again');
        const restarted = await respawn();
        // Closed meanwhile: close() waits for this, then stops whichever engine is current.
        this.#engine = restarted;
        this.#log.info({ pid: restarted.pid }, 'embedded media engine started again');
      } catch (error) {
        this.#log.error({ err: error }, 'could not restart the embedded media engine');
      } finally {
        this.#restarting = undefined;
      }
    })();
    return this.#restarting;
  }
}

export class MediaConnection {
  readonly pool: MediaPool;
  readonly #slots: Slot[];
  #closed = false;

  private constructor(pool: MediaPool, slots: Slot[]) {
    this.pool = pool;
    this.#slots = slots;
  }

  static async open(config: MediaConfig, log: Logger, options: MediaConnectionOptions = {}): Promise<MediaConnection> {
    const serverOptions = {
      ...(options.lossGraceMs ? { lossGraceMs: options.lossGraceMs } : {}),
      bandwidth: config.videoBandwidth,
      // Pipelines are tagged with the store prefix: the registry under that prefix says which are on air.
      deployment: config.storePrefix,
      reconcileMs: options.reconcileMs ?? config.mediaReconcileMs,
      log: log.child({ module: 'media' }),
    } satisfies Omit<MediaServerOptions, 'uri'>;
    const slots: Slot[] = [];
    try {
      if (config.kmsUris.length > 0) {
        for (const uri of config.kmsUris) {
          const server = await MediaServer.connect({ uri, ...serverOptions });
          slots.push(new Slot(server, log));
          log.info({ uri: redactUri(uri) }, 'connected to the Kurento Media Server');
        }
      } else {
        for (let i = 0; i < config.engineInstances; i++)
          slots.push(await openEngine(config, log, options, i, serverOptions));
      }
    } catch (error) {
      for (const slot of slots) {
        await slot.server.close();
        await slot.close();
      }
      throw error;
    }
    const pool = new MediaPool(
      slots.map((slot, i) => ({ server: slot.server, capacity: capacityOf(config, i) })),
      {
        log: log.child({ module: 'media' }),
        ...(options.loadSampleMs !== undefined ? { sampleMs: options.loadSampleMs } : {}),
      },
    );
    return new MediaConnection(pool, slots);
  }

  /** The first media server (the only one without a pool). */
  get server(): MediaServer {
    return this.#slots[0]!.server;
  }

  /** Every media server, in configuration order. */
  get servers(): MediaServer[] {
    return this.#slots.map((s) => s.server);
  }

  /** The first embedded engine's process, when this connection started engines. */
  get engine(): SpawnedEngine | undefined {
    return this.#slots[0]?.engine;
  }

  /** Each embedded engine's process (in the order of `servers`), when this connection started engines. */
  get engines(): SpawnedEngine[] {
    return this.#slots.map((s) => s.engine).filter((e): e is SpawnedEngine => e !== undefined);
  }

  /** True when at least one media server answers. */
  async probe(): Promise<boolean> {
    return (await this.health()).ok;
  }

  /** /healthz's media check: ok while one server answers, degraded when some do not (named in the detail). */
  async health(): Promise<MediaHealth> {
    const servers = await this.pool.probe();
    const lost = servers.filter((s) => !s.ok).map((s) => s.id);
    if (lost.length === 0) return { ok: true };
    if (lost.length === servers.length)
      return { ok: false, detail: servers.length === 1 ? 'unreachable' : `every media server is unreachable` };
    return {
      ok: true,
      degraded: true,
      detail: `${lost.length} of ${servers.length} media servers unreachable: ${lost.join(', ')}`,
    };
  }

  /** End the lives (recordings finalised), disconnect, stop the embedded engines. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.pool.close();
    await Promise.all(this.#slots.map((s) => s.close()));
  }
}

/** The capacity of the i-th server: MEDIA_SERVER_CAPACITY's i-th figure (its last one for the rest). */
function capacityOf(config: MediaConfig, index: number): number | null {
  const list = config.mediaServerCapacity;
  if (!list || list.length === 0) return null;
  return list[Math.min(index, list.length - 1)]!;
}

async function openEngine(
  config: MediaConfig,
  log: Logger,
  options: MediaConnectionOptions,
  index: number,
  serverOptions: Omit<MediaServerOptions, 'uri'>,
): Promise<Slot> {
  const port = await freePort();
  const engineLog = log.child({ module: 'engine', ...(config.engineInstances > 1 ? { engine: index } : {}) });
  // One secret for the engine and its restarts: the client reconnects to the same URI.
  const secret = newEngineSecret();
  const start = () =>
    spawnEngine({
      host: '127.0.0.1',
      port,
      ...(config.engineWorkers !== null ? { workers: config.engineWorkers } : {}),
      env: { ENGINE_FILE_ROOT: config.recordingsDir, ...options.engineEnv, ENGINE_SECRET: secret },
      onLog: (line) => engineLog.debug({ line }, 'engine'),
    });
  const engine = await start();
  try {
    const server = await MediaServer.connect({ uri: engine.uri, ...serverOptions });
    log.info({ uri: engine.publicUri, pid: engine.pid }, 'embedded media engine started');
    return new Slot(server, log, engine, start);
  } catch (error) {
    await engine.stop();
    throw error;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

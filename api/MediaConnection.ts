/**
 * The media server this API process drives: a real Kurento Media Server at KMS_URI, or (unset) onair's embedded
 * engine, started here as a child process on a free loopback port and started again if it dies.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { MediaServer, redactUri } from '../media/MediaServer.js';
import { newEngineSecret, spawnEngine, type SpawnedEngine } from '../media/engine/spawn.js';

export interface MediaConnectionOptions {
  /** Environment for the embedded engine (tests shorten grace periods, set workers...). */
  engineEnv?: Record<string, string>;
  /** How long a dropped connection may take to come back before lives end. */
  lossGraceMs?: number;
  /** How often lives are checked against the media server (default: MEDIA_RECONCILE_MS). */
  reconcileMs?: number;
}

export class MediaConnection {
  readonly server: MediaServer;
  readonly #log: Logger;
  #engine: SpawnedEngine | undefined;
  readonly #respawn: (() => Promise<SpawnedEngine>) | undefined;
  #restarting: Promise<void> | undefined;
  #closed = false;

  private constructor(
    server: MediaServer,
    log: Logger,
    engine?: SpawnedEngine,
    respawn?: () => Promise<SpawnedEngine>,
  ) {
    this.server = server;
    this.#log = log;
    this.#engine = engine;
    this.#respawn = respawn;
    server.on('lost', () => void this.#restartEngineIfDead());
  }

  static async open(config: Config, log: Logger, options: MediaConnectionOptions = {}): Promise<MediaConnection> {
    const lossGrace = {
      ...(options.lossGraceMs ? { lossGraceMs: options.lossGraceMs } : {}),
      bandwidth: config.videoBandwidth,
      // Pipelines are tagged with the store prefix: the registry under that prefix says which are on air.
      deployment: config.storePrefix,
      reconcileMs: options.reconcileMs ?? config.mediaReconcileMs,
    };
    if (config.kmsUri) {
      const server = await MediaServer.connect({
        uri: config.kmsUri,
        log: log.child({ module: 'media' }),
        ...lossGrace,
      });
      log.info({ uri: redactUri(config.kmsUri) }, 'connected to the Kurento Media Server');
      return new MediaConnection(server, log);
    }
    const port = await freePort();
    const engineLog = log.child({ module: 'engine' });
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
      const server = await MediaServer.connect({ uri: engine.uri, log: log.child({ module: 'media' }), ...lossGrace });
      log.info({ uri: engine.publicUri, pid: engine.pid }, 'embedded media engine started');
      return new MediaConnection(server, log, engine, start);
    } catch (error) {
      await engine.stop();
      throw error;
    }
  }

  /** The embedded engine's process, when this connection started one. */
  get engine(): SpawnedEngine | undefined {
    return this.#engine;
  }

  probe(): Promise<boolean> {
    return this.server.probe();
  }

  /** End the lives (recordings finalised), disconnect, stop the embedded engine. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.server.close();
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

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A free TCP port on loopback (so a restarted engine comes back on the same address). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

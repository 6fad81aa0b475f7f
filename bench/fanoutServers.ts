/**
 * The media servers of `bench:fanout --servers N`: N embedded engines, each with its own kurento-client; the source
 * lives on the first, and reaches every other one through an RtpEndpoint pair (rtpA on the source's pipeline offers,
 * rtpB on the server's own pipeline answers), the way onair cascades a live across servers.
 */
import kurento from 'kurento-client';
import { spawnEngine, type SpawnedEngine } from '../media/engine/spawn.js';

export const call = <T = unknown>(fn: (cb: (err: any, value: T) => void) => void) =>
  new Promise<T>((resolve, reject) =>
    fn((err, value) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(value))),
  );

/** One media worker as the engine's /stats reports it. */
export interface HostFigures {
  name: string;
  pid: number;
  webRtcEndpoints: number;
  cpuMicros: number;
  rssBytes: number;
}

/** One embedded engine and the client that drives it. */
export class BenchServer {
  readonly name: string;
  readonly #statsUrl: string;

  constructor(
    index: number,
    readonly engine: SpawnedEngine,
    readonly client: any,
  ) {
    this.name = `server${index + 1}`;
    this.#statsUrl = `http://${new URL(engine.uri).host}/stats`;
  }

  /** The engine's media workers (not the engine process itself). */
  async hosts(): Promise<HostFigures[]> {
    const stats = (await (await fetch(this.#statsUrl)).json()) as { hosts: HostFigures[] };
    return stats.hosts.filter((h) => h.pid !== this.engine.pid);
  }

  /** Every process of the engine: the engine, then its workers. */
  async pids(): Promise<number[]> {
    return [this.engine.pid, ...(await this.hosts()).map((h) => h.pid)];
  }

  /** The pipelines the engine holds, through its ServerManager. */
  async pipelines(): Promise<number> {
    const manager: any = await call((cb) => this.client.getServerManager(cb));
    return (await call<unknown[]>((cb) => manager.getPipelines(cb))).length;
  }

  async stop(): Promise<void> {
    this.client.close();
    await this.engine.stop();
  }
}

export async function startServers(
  count: number,
  opts: { workers: number; execArgv: string[]; log: (line: string) => void },
): Promise<BenchServer[]> {
  const servers: BenchServer[] = [];
  for (let i = 0; i < count; i++) {
    const tag = count === 1 ? '[engine]' : `[engine ${i + 1}]`;
    const engine = await spawnEngine({
      port: 0,
      workers: opts.workers,
      execArgv: opts.execArgv,
      onLog: (line) => opts.log(`${tag} ${line}`),
    });
    const client: any = await kurento(engine.uri, { socket: { objectMode: true } });
    client._re?.on('error', () => undefined);
    servers.push(new BenchServer(i, engine, client));
  }
  return servers;
}

/** The source relayed to one other server: the pipeline there, fed by rtpB, is where that server's viewers join. */
export interface Relay {
  server: BenchServer;
  pipeline: any;
  /** What the server's viewers connect to. */
  source: any;
  release(): Promise<void>;
}

/** Relays `source` (on `sourcePipeline`) to `server` with an RtpEndpoint pair, negotiated rtpA → rtpB → rtpA. */
export async function cascade(source: any, sourcePipeline: any, server: BenchServer): Promise<Relay> {
  const pipeline = await server.client.create('MediaPipeline');
  const rtpA = await sourcePipeline.create('RtpEndpoint');
  const release = async () => {
    await call((cb) => rtpA.release(cb)).catch(() => undefined);
    await call((cb) => pipeline.release(cb)).catch(() => undefined);
  };
  try {
    const rtpB = await pipeline.create('RtpEndpoint');
    await call((cb) => source.connect(rtpA, cb));
    const offer = await call<string>((cb) => rtpA.generateOffer(cb));
    const answer = await call<string>((cb) => rtpB.processOffer(offer, cb));
    await call((cb) => rtpA.processAnswer(answer, cb));
    return { server, pipeline, source: rtpB, release };
  } catch (err) {
    await release();
    throw err;
  }
}

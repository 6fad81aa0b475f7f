/**
 * Starts the engine (main.ts) as a child process and resolves once it prints its ready line.
 * Used by `npm start` (when KMS_URI is unset) and by the tests. The engine's secret goes through its
 * environment (never its command line, which `ps` shows): `env.ENGINE_SECRET` if given, else a random
 * one; the returned `uri` carries it (`?access_token=`), `publicUri` does not (for logs). The rest of
 * the environment is inherited, so `ENGINE_KMS_FAITHFUL=true` in the parent's environment reaches it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface SpawnEngineOptions {
  host?: string;
  /** 0 picks any free port. */
  port?: number;
  /** Media worker processes (0 = media in the engine process). */
  workers?: number;
  env?: Record<string, string>;
  /** Extra Node flags for the engine process (e.g. --cpu-prof when profiling). */
  execArgv?: string[];
  /** Every line the engine prints (stdout and stderr), without the ready line. */
  onLog?: (line: string) => void;
}

export interface SpawnedEngine {
  /** The Kurento WebSocket URI with the secret: what kurento-client connects to. Never log it. */
  uri: string;
  /** The same URI without the secret. */
  publicUri: string;
  secret: string;
  pid: number;
  /** SIGTERM, then SIGKILL if the engine has not exited after 5 s; resolves once it has exited. */
  stop(): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
}

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const READY = /^onair-engine ready (ws:\/\/\S+)$/;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

export async function spawnEngine(opts: SpawnEngineOptions = {}): Promise<SpawnedEngine> {
  const env: NodeJS.ProcessEnv = { ...process.env, ENGINE_EXIT_WITH_PARENT: '1', ...opts.env };
  const secret = opts.env?.ENGINE_SECRET || newEngineSecret();
  env.ENGINE_SECRET = secret;
  delete env.ENGINE_NO_SECRET;
  if (opts.host !== undefined) env.ENGINE_HOST = opts.host;
  if (opts.port !== undefined) env.ENGINE_PORT = String(opts.port);
  if (opts.workers !== undefined) env.ENGINE_WORKERS = String(opts.workers);

  const child = spawn(process.execPath, [...(opts.execArgv ?? []), '--import', import.meta.resolve('tsx'), MAIN], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit');
  const log = (line: string) => opts.onLog?.(line);
  readline.createInterface({ input: child.stderr }).on('line', log);
  const stdout = readline.createInterface({ input: child.stdout });

  const publicUri = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the engine did not become ready in time'));
    }, START_TIMEOUT_MS);
    const onLine = (line: string) => {
      const ready = READY.exec(line);
      if (!ready?.[1]) return log(line);
      clearTimeout(timer);
      stdout.off('line', onLine);
      stdout.on('line', log);
      resolve(ready[1]);
    };
    stdout.on('line', onLine);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the engine exited before it was ready (${signal ?? code})`));
    });
  });

  let stopping: Promise<void> | undefined;
  return {
    uri: withSecret(publicUri, secret),
    publicUri,
    secret,
    pid: child.pid ?? 0,
    kill: (signal = 'SIGKILL') => void child.kill(signal),
    stop: () => {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        child.kill('SIGTERM');
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/** A random engine secret (URI-safe). */
export function newEngineSecret(): string {
  return randomBytes(24).toString('base64url');
}

/** `uri` with `secret` as its access_token (the query parameter kurento-client's own option uses). */
export function withSecret(uri: string, secret: string): string {
  const url = new URL(uri);
  url.searchParams.set('access_token', secret);
  return url.toString();
}

/** A TCP port free on loopback right now (bound, then released): for an engine or a child that must listen on a known one. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * An onair API process (`api/main.ts`, with its embedded engine) as a child of a benchmark: started on a free
 * loopback port with the bench's environment, ready once /healthz answers 200. It collects the errors (and counts
 * the warnings) the API logs; on request it runs with a loopback inspector (for `heapAfterGc`) and reports the
 * embedded engine's pid and /stats URL from the API's log (which needs LOG_LEVEL info). `stop()` ends it (SIGTERM,
 * SIGKILL after 30 s) and is idempotent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { freePort } from '../media/engine/spawn.js';

export interface ApiProcessOptions {
  /** Its name in the bench's output: the lines it prints are marked `[api <name>]`. */
  name: string;
  /** Added to this process's environment; PORT and HOST are set here. */
  env: NodeJS.ProcessEnv;
  /** Run with a loopback inspector, so that `heapAfterGc` can collect garbage there. */
  inspector?: boolean;
  /** Wait for the embedded engine's start in the API's log and report it as `engine`. */
  watchEngine?: boolean;
  /** How long the start may take, engine included. */
  startTimeoutMs?: number;
}

export interface EngineInfo {
  pid: number;
  statsUrl: string;
}

export interface ApiProcess {
  name: string;
  url: URL;
  pid: number;
  /** Errors the API logged (and an engine restart, when watched). */
  errors: string[];
  /** Warnings the API logged, by message. */
  warnings: Map<string, number>;
  /** The API's V8 heap in use right after a full garbage collection (needs `inspector`). */
  heapAfterGc(): Promise<number>;
  stop(): Promise<void>;
}

export function startApiProcess(
  options: ApiProcessOptions & { watchEngine: true },
): Promise<ApiProcess & { engine: EngineInfo }>;
export function startApiProcess(options: ApiProcessOptions): Promise<ApiProcess>;
export async function startApiProcess(options: ApiProcessOptions): Promise<ApiProcess & { engine?: EngineInfo }> {
  const { name, inspector = false, watchEngine = false, startTimeoutMs = 90_000 } = options;
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, PORT: String(port), HOST: '127.0.0.1' };
  const main = fileURLToPath(new URL('../api/main.ts', import.meta.url));
  // node itself (not the tsx CLI, which would add a process): the child's pid is the API's.
  const child: ChildProcess = spawn(
    process.execPath,
    [...(inspector ? ['--inspect=127.0.0.1:0'] : []), '--import', import.meta.resolve('tsx'), main],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = once(child, 'exit');
  let inspectorUrl = '';
  const errors: string[] = [];
  const warnings = new Map<string, number>();
  let engine: EngineInfo | undefined;
  readline.createInterface({ input: child.stderr! }).on('line', (line) => {
    const address = /^Debugger listening on (ws:\/\/\S+)$/.exec(line)?.[1];
    if (address) inspectorUrl = address;
    else if (!/^(For help, see|Debugger attached|Debugger ending|Waiting for the debugger)/.test(line))
      console.error(`[api ${name}] ${line}`);
  });
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    let entry: { level?: number; msg?: string; pid?: number; uri?: string; err?: { message?: string } };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      return;
    }
    if (entry.msg === 'embedded media engine started' && entry.uri && entry.pid) {
      engine = { pid: entry.pid, statsUrl: `http://${new URL(entry.uri).host}/stats` };
    } else if (entry.msg === 'embedded media engine started again' && entry.pid && engine) {
      engine.pid = entry.pid;
      errors.push(`the engine was restarted (pid ${entry.pid})`);
    }
    if ((entry.level ?? 0) >= 50) {
      errors.push(`${entry.msg ?? ''}${entry.err?.message ? `: ${entry.err.message}` : ''}`);
      console.error(`[api ${name} error] ${line.slice(0, 400)}`);
    } else if (entry.level === 40) warnings.set(entry.msg ?? '', (warnings.get(entry.msg ?? '') ?? 0) + 1);
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.kill('SIGTERM');
    await exited;
    clearTimeout(timer);
  };
  const url = new URL(`http://127.0.0.1:${port}`);
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`API ${name} exited at start (${child.exitCode})`);
    const healthy = await fetch(new URL('/healthz', url)).then(
      (r) => r.ok,
      () => false,
    );
    if (healthy && (engine || !watchEngine)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        healthy
          ? `API ${name} logged no engine start within ${startTimeoutMs} ms`
          : `API ${name} never answered /healthz with 200`,
      );
    }
    await sleep(100);
  }
  return {
    name,
    url,
    pid: child.pid!,
    engine,
    errors,
    warnings,
    heapAfterGc: () => heapAfterGc(inspectorUrl),
    stop,
  };
}

/** Through a Node inspector: a full garbage collection, then the heap in use (bytes). */
async function heapAfterGc(url: string): Promise<number> {
  if (!url) throw new Error('the API printed no inspector address (start it with `inspector`)');
  const ws = new WebSocket(url);
  try {
    await once(ws, 'open');
    let id = 0;
    const call = (method: string) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const mine = ++id;
        const onMessage = (data: WebSocket.RawData) => {
          const msg = JSON.parse(String(data)) as { id?: number; result?: Record<string, unknown>; error?: unknown };
          if (msg.id !== mine) return;
          ws.off('message', onMessage);
          if (msg.error) reject(new Error(`${method}: ${JSON.stringify(msg.error)}`));
          else resolve(msg.result ?? {});
        };
        ws.on('message', onMessage);
        ws.send(JSON.stringify({ id: mine, method }));
      });
    await call('HeapProfiler.collectGarbage');
    return Number((await call('Runtime.getHeapUsage')).usedSize);
  } finally {
    ws.close();
  }
}

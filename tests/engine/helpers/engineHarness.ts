/**
 * What every engine test needs: an engine child process (spawnEngine) with test-sized timeouts,
 * kurento-client connected the way onair connects it, the engine's /stats, and a leak check that
 * waits for pipelines, sessions, UDP sockets and timers to return to a baseline.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, beforeEach } from 'node:test';
import kurento from 'kurento-client';
import { spawnEngine, type SpawnEngineOptions, type SpawnedEngine } from '../../../media/engine/spawn.js';
import { setUpValue } from '../../support/fixture.js';

export interface EngineStats {
  sessions: number;
  pipelines: number;
  objects: number;
  subscriptions: number;
  connections: number;
  udpSockets: number;
  timers: number;
  hosts: {
    name: string;
    pid: number;
    pipelines: number;
    elements: number;
    webRtcEndpoints: number;
    udpSockets: number;
    /** How often an idle worker gave its memory back. */
    idleMemoryReleases?: number;
    /** Relay sources on this host: a live fed from another worker. */
    relaySources?: number;
    timers: number;
  }[];
}

export type Baseline = Pick<EngineStats, 'sessions' | 'pipelines' | 'objects' | 'udpSockets' | 'timers'>;

/**
 * An engine for tests: two media workers (as on a 2-core machine by default), quick session
 * collection, a bounded set-up timeout, logs kept for failure messages.
 */
export async function startTestEngine(opts: SpawnEngineOptions = {}): Promise<SpawnedEngine & { logs: string[] }> {
  const logs: string[] = [];
  const engine = await spawnEngine({
    port: 0,
    workers: 2,
    ...opts,
    env: { ENGINE_SESSION_GRACE_MS: '300', ENGINE_SETUP_TIMEOUT_MS: '15000', ...opts.env },
    onLog: (line) => {
      logs.push(line);
      opts.onLog?.(line);
    },
  });
  return Object.assign(engine, { logs });
}

/** Clients opened by a test, closed by `closeClients()` in its teardown even when the test failed. */
const openClients = new Set<KurentoClient>();

export async function closeClients(): Promise<void> {
  for (const client of openClients) client.close();
  openClients.clear();
}

/** kurento-client connected as onair connects it (one text frame per message). */
export async function connectClient(uri: string, options: Record<string, unknown> = {}): Promise<KurentoClient> {
  const client = await kurento(uri, { socket: { objectMode: true }, ...options });
  // A reset socket makes reconnect-core emit 'error'; without a listener that would kill the test process.
  client._re?.on('error', () => undefined);
  openClients.add(client);
  return client;
}

export function statsUrl(uri: string): string {
  const url = new URL(uri);
  return `http://${url.host}/stats`;
}

export async function engineStats(uri: string): Promise<EngineStats> {
  const res = await fetch(statsUrl(uri));
  assert.equal(res.status, 200);
  return (await res.json()) as EngineStats;
}

export function baselineOf(stats: EngineStats): Baseline {
  const { sessions, pipelines, objects, udpSockets, timers } = stats;
  return { sessions, pipelines, objects, udpSockets, timers };
}

/** Waits until the engine is back to `baseline` (what leaked is named if it never is). */
export async function assertBackToBaseline(uri: string, baseline: Baseline, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: Baseline | undefined;
  while (Date.now() < deadline) {
    last = baselineOf(await engineStats(uri));
    if (JSON.stringify(last) === JSON.stringify(baseline)) return;
    await sleep(100);
  }
  assert.deepEqual(last, baseline, 'the engine did not return to its baseline (leak)');
}

/** Polls `check` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T> | T,
  timeoutMs = 15_000,
  intervalMs = 100,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** The next event `name` emitted by a kurento-client object. */
export function nextEvent<T = any>(
  object: { once(name: string, cb: (e: T) => void): void },
  name: string,
  timeoutMs = 15_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} event within ${timeoutMs} ms`)), timeoutMs);
    object.once(name, (event) => {
      clearTimeout(timer);
      resolve(event);
    });
  });
}

/** Calls a kurento-client method in callback style (promise style swallows invoke errors) as a promise. */
export function call<T = unknown>(invoke: (cb: (err: any, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => invoke((err, value) => (err ? reject(err) : resolve(value))));
}

// kurento-client ships no usable types: objects are used dynamically in tests.
export type KurentoClient = any;

export interface EngineFixture {
  readonly engine: SpawnedEngine & { logs: string[] };
  /** The engine's figures right after it started. */
  readonly baseline: Baseline;
}

/**
 * The engine fixture of a `describe`: a test engine started before (and its baseline taken), stopped after.
 * `perTest` gives every test a fresh engine instead (beforeEach / afterEach). Clients opened with `connectClient`
 * are closed after each test.
 */
export function useTestEngine(opts: SpawnEngineOptions = {}, { perTest = false } = {}): EngineFixture {
  let engine: (SpawnedEngine & { logs: string[] }) | undefined;
  let baseline: Baseline | undefined;
  const start = async () => {
    engine = await startTestEngine(opts);
    baseline = baselineOf(await engineStats(engine.uri));
  };
  const stop = async () => {
    await engine?.stop();
    engine = undefined;
  };
  (perTest ? beforeEach : before)(start);
  afterEach(closeClients);
  (perTest ? afterEach : after)(stop);
  const running = setUpValue('the test engine is not running (use the fixture inside a test)');
  return {
    get engine() {
      return running(engine);
    },
    get baseline() {
      return running(baseline);
    },
  };
}

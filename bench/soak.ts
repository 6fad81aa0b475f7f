/**
 * bench:soak: one presenter stays on air while viewers join and leave continuously, for a bounded time, against a
 * real onair API process (`api/main.ts` as a child: SQLite in a temporary folder, Redis under its own key prefix,
 * the embedded engine with its worker processes). Presenter and viewers are werift peers in this process (real
 * ICE, DTLS, SRTP, VP8 + Opus RTP; no browser), signalled over socket.io like the front end; a join counts once
 * the viewer receives audio and video. Half the viewers leave with `viewer:leave`, the others just drop their
 * socket.
 *
 * Every minute it prints the engine's pipelines, WebRTC endpoints and media objects (the engine's /stats), heap
 * and RSS of the API process and of the engine processes (VmRSS from /proc; heap from the API's /metrics and the
 * engine's /stats), the UDP sockets those processes hold (/proc/<pid>/fd against /proc/net/udp), the Redis keys
 * under the run's prefix, and the viewer count the API reports. Before the soak a short warm-up (a live, two
 * viewers, everyone gone) sets the baseline; after it everyone stops (viewers leave, the live ends, every account
 * logs out) and each figure must come back to its baseline: exactly for pipelines, endpoints, objects, UDP
 * sockets and Redis keys, within a tolerance for heap and RSS. Exit code 1 when one does not.
 *
 * Usage: npm run bench:soak [-- --minutes 10 --joins-per-minute 30 --max-viewers 8 --dwell 5-40]
 * (or SOAK_MINUTES, SOAK_JOINS_PER_MINUTE, SOAK_MAX_VIEWERS, SOAK_DWELL). Needs ffmpeg and Redis (REDIS_URL,
 * default redis://127.0.0.1:6379). The last line is one JSON object {"bench":"soak",...}.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { AuthResponse } from '../api/contract/rest.js';
import type { IceCandidateInit, IceServer, LiveSummary, Role } from '../api/contract/signalling.js';
import type { EngineStats } from '../media/engine/server/EngineServer.js';
import { Rest, Signalling, signUp } from '../smoke/client.js';
import { makeClip, readClip, type Clip } from '../smoke/media.js';
import { SmokePeer } from '../smoke/peer.js';
import { startApiProcess, type ApiProcess, type EngineInfo } from './apiProcess.js';
import { positiveArg, rssAnonBytes, rssBytes, udpSockets } from './proc.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: process.env.SOAK_MINUTES ?? '10' },
    'joins-per-minute': { type: 'string', default: process.env.SOAK_JOINS_PER_MINUTE ?? '30' },
    'max-viewers': { type: 'string', default: process.env.SOAK_MAX_VIEWERS ?? '8' },
    dwell: { type: 'string', default: process.env.SOAK_DWELL ?? '5-40' },
    'sample-seconds': { type: 'string', default: process.env.SOAK_SAMPLE_SECONDS ?? '60' },
    workers: { type: 'string', default: process.env.ENGINE_WORKERS ?? '' },
  },
});

const positive = (name: string, value: string, max: number): number => positiveArg('bench:soak', name, value, max);

const MINUTES = positive('minutes', args.minutes, 24 * 60);
const JOINS_PER_MINUTE = positive('joins-per-minute', args['joins-per-minute'], 600);
const MAX_VIEWERS = Math.round(positive('max-viewers', args['max-viewers'], 200));
const SAMPLE_MS = positive('sample-seconds', args['sample-seconds'], 3600) * 1000;
const [DWELL_MIN_S, DWELL_MAX_S] = (() => {
  const m = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(args.dwell);
  const range = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!(range[0]! >= 0 && range[1]! >= range[0]!)) {
    console.error(`bench:soak: --dwell must be <min>-<max> seconds, not ${args.dwell}`);
    process.exit(2);
  }
  return range as [number, number];
})();
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const JOIN_TIMEOUT_MS = 20_000;
/** How long the figures may take to come back after everyone stopped (rate-limit keys live a minute). */
const SETTLE_TIMEOUT_MS = 120_000;
/**
 * Heap and RSS may end this much above their baseline: the larger of a share and a floor. The API's heap is read
 * after a full garbage collection, so it gets the tightest bound; the engine's heap (no GC can be forced in its
 * workers) and RSS (the allocator keeps freed pages) get more.
 */
const TOLERANCE = {
  apiHeap: { share: 0.1, floorMB: 6 },
  engineHeap: { share: 0.2, floorMB: 16 },
  apiRss: { share: 0.2, floorMB: 48 },
  engineRss: { share: 0.2, floorMB: 48 },
} as const;
const MB = 2 ** 20;

// ---------------------------------------------------------------------------------------------------------------
// The API process under test.

/** The API with its embedded engine's pid and /stats URL. */
type SoakApi = ApiProcess & { engine: EngineInfo };

function startApi(dir: string, prefix: string): Promise<SoakApi> {
  const env: NodeJS.ProcessEnv = {
    LOG_LEVEL: 'info',
    DATABASE_URL: `sqlite:${path.join(dir, 'onair.sqlite')}`,
    RECORDINGS_DIR: path.join(dir, 'recordings'),
    REDIS_URL,
    STORE_PREFIX: prefix,
    SIGNING_SECRET: randomBytes(24).toString('base64url'),
    AUTH_RATE_LIMIT: '100000',
  };
  if (args.workers) env.ENGINE_WORKERS = args.workers;
  // Its inspector, on a loopback port, is how the bench collects garbage there before reading the heap.
  return startApiProcess({ name: 'soak', env, inspector: true, watchEngine: true });
}

// ---------------------------------------------------------------------------------------------------------------
// Figures.

interface Figures {
  pipelines: number;
  endpoints: number;
  objects: number;
  engineSessions: number;
  apiHeap: number;
  apiRss: number;
  engineHeap: number;
  engineRss: number;
  engineProcesses: number;
  udpApi: number;
  udpEngine: number;
  redisKeys: number;
  /** Each engine process's memory (not compared: it shows where the engine's RSS goes). */
  engineProcs: ProcMemory[];
}

/** One engine process's memory: RSS and its anonymous part (/proc), V8's heap in use and reserved, external. */
interface ProcMemory {
  name: string;
  rss: number;
  rssAnon: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** CPU time the process used since it started (s), when it reports it. */
  cpuSeconds?: number;
  /** Committed bytes of V8's main spaces (new, old, large objects, code), when the process reports them. */
  spaces?: { new: number; old: number; largeObjects: number; code: number };
}

/** What is compared with the baseline, and how. */
const CHECKS: Array<{ key: Exclude<keyof Figures, 'engineProcs'>; label: string; exact: boolean }> = [
  { key: 'pipelines', label: 'engine pipelines', exact: true },
  { key: 'endpoints', label: 'engine WebRTC endpoints', exact: true },
  { key: 'objects', label: 'engine media objects', exact: true },
  { key: 'udpApi', label: 'UDP sockets, API process', exact: true },
  { key: 'udpEngine', label: 'UDP sockets, engine processes', exact: true },
  { key: 'redisKeys', label: 'Redis keys (run prefix)', exact: true },
  { key: 'apiHeap', label: 'API heap (after a full GC)', exact: false },
  { key: 'apiRss', label: 'API RSS', exact: false },
  { key: 'engineHeap', label: 'engine heap (all processes)', exact: false },
  { key: 'engineRss', label: 'engine RSS (all processes)', exact: false },
];

class Sampler {
  constructor(
    readonly api: SoakApi,
    readonly redis: Redis,
    readonly prefix: string,
  ) {}

  async engineStats(): Promise<EngineStats> {
    const res = await fetch(this.api.engine.statsUrl, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`engine /stats answered ${res.status}`);
    return (await res.json()) as EngineStats;
  }

  async redisKeys(): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    return keys;
  }

  async sample(): Promise<Figures> {
    const stats = await this.engineStats();
    const enginePids = [...new Set([stats.server.pid, ...stats.hosts.map((h) => h.pid)])];
    const udp = await udpSockets([this.api.pid, ...enginePids]);
    const workers = stats.hosts.filter((h) => h.pid !== stats.server.pid);
    const engineRss = (await Promise.all(enginePids.map(rssBytes))).reduce((a, b) => a + b, 0);
    const engineProcs: ProcMemory[] = [
      {
        name: 'server',
        rss: await rssBytes(stats.server.pid),
        rssAnon: await rssAnonBytes(stats.server.pid),
        heapUsed: stats.server.heapBytes,
        heapTotal: NaN,
        external: stats.server.externalBytes,
        arrayBuffers: NaN,
      },
    ];
    for (const h of workers) {
      engineProcs.push({
        name: h.name,
        rss: await rssBytes(h.pid),
        rssAnon: await rssAnonBytes(h.pid),
        heapUsed: h.heapBytes,
        heapTotal: h.heapTotalBytes,
        external: h.externalBytes,
        arrayBuffers: h.arrayBuffersBytes,
        cpuSeconds: h.cpuMicros / 1e6,
        spaces: h.heapSpaces && {
          new: h.heapSpaces.new_space?.size ?? 0,
          old: h.heapSpaces.old_space?.size ?? 0,
          largeObjects: (h.heapSpaces.large_object_space?.size ?? 0) + (h.heapSpaces.new_large_object_space?.size ?? 0),
          code: (h.heapSpaces.code_space?.size ?? 0) + (h.heapSpaces.code_large_object_space?.size ?? 0),
        },
      });
    }
    return {
      pipelines: stats.pipelines,
      endpoints: stats.hosts.reduce((n, h) => n + h.webRtcEndpoints, 0),
      objects: stats.objects,
      engineSessions: stats.sessions,
      apiHeap: await this.api.heapAfterGc(),
      apiRss: await rssBytes(this.api.pid),
      engineHeap: stats.server.heapBytes + workers.reduce((n, h) => n + h.heapBytes, 0),
      engineRss,
      engineProcesses: enginePids.length,
      udpApi: udp.get(this.api.pid) ?? 0,
      udpEngine: enginePids.reduce((n, pid) => n + (udp.get(pid) ?? 0), 0),
      redisKeys: (await this.redisKeys()).length,
      engineProcs,
    };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The peers.

const password = randomBytes(18).toString('base64url');
const run = randomBytes(3).toString('hex');
let accountSerial = 0;

async function register(rest: Rest, role: string): Promise<AuthResponse> {
  return signUp(rest, `soak_${run}_${role}${++accountSerial}`, password);
}

async function logout(rest: Rest, account: AuthResponse): Promise<void> {
  await rest.withToken(account.token).expect('POST', '/api/auth/logout', 204);
}

/** Routes a socket's trickled server candidates to the one peer of that socket. */
function withPeer(socket: Signalling, liveId: string, role: Role, peer: SmokePeer): void {
  socket.on('ice:candidate', (msg: { liveId: string; role: Role; candidate: IceCandidateInit }) => {
    if (msg.liveId === liveId && msg.role === role) peer.addCandidate(msg.candidate);
  });
}

function peerFor(socket: Signalling, liveId: string, role: Role, iceServers: IceServer[], clip: Clip | null) {
  const options = {
    iceServers,
    relayOnly: false,
    onCandidate: (candidate: IceCandidateInit) =>
      socket.send('ice:candidate', { liveId, role, candidate }, () => undefined),
  };
  const peer = clip ? SmokePeer.presenter(options, clip) : SmokePeer.viewer(options);
  withPeer(socket, liveId, role, peer);
  return peer;
}

async function until(condition: () => boolean, what: string, timeoutMs = JOIN_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

class Presenter {
  liveId = '';
  /** Why the live ended, when the server ended it (not this presenter). */
  ended: string | undefined;
  #socket: Signalling | undefined;
  #peer: SmokePeer | undefined;

  constructor(
    readonly base: URL,
    readonly account: AuthResponse,
    readonly clip: Clip,
  ) {}

  async start(title: string): Promise<void> {
    this.#socket = await Signalling.connect(this.base, this.account.token);
    const reserved = await this.#socket.request<{ liveId: string; iceServers: IceServer[] }>('presenter:start', {
      title,
    });
    this.liveId = reserved.liveId;
    this.#socket.on('live:ended', (msg: { liveId: string; reason: string }) => {
      if (msg.liveId === this.liveId) this.ended ??= msg.reason;
    });
    this.#socket.socket.on('disconnect', (reason) => (this.ended ??= `presenter socket ${reason}`));
    this.#peer = peerFor(this.#socket, this.liveId, 'presenter', reserved.iceServers, this.clip);
    const { sdpAnswer } = await this.#socket.request<{ sdpAnswer: string }>('presenter:offer', {
      liveId: this.liveId,
      sdpOffer: await this.#peer.offer(),
    });
    await this.#peer.answer(sdpAnswer);
    const peer = this.#peer;
    await until(() => peer.received.video > 0 && peer.received.audio > 0, 'the presenter’s loopback');
  }

  /** The presenter's side of the live: its peer's state, frames sent, its own stream received back (packets). */
  health(): { state: string; sent: number; loopback: number } {
    const peer = this.#peer;
    if (!peer) return { state: 'none', sent: 0, loopback: 0 };
    const sent = peer.sentFrames;
    return {
      state: peer.connectionState,
      sent: sent.video + sent.audio,
      loopback: peer.received.video + peer.received.audio,
    };
  }

  async stop(): Promise<void> {
    const socket = this.#socket;
    if (socket && this.ended === undefined) {
      this.ended = 'stopped';
      await socket.request('presenter:stop', { liveId: this.liveId });
    }
    await this.#peer?.close();
    this.#socket?.close();
  }
}

type LeaveMode = 'leave' | 'drop';

class Viewer {
  #socket: Signalling | undefined;
  #peer: SmokePeer | undefined;

  constructor(
    readonly base: URL,
    readonly account: AuthResponse,
    readonly liveId: string,
  ) {}

  /** Connects, watches and waits for audio and video; resolves the time that took (ms). */
  async join(): Promise<number> {
    const started = performance.now();
    this.#socket = await Signalling.connect(this.base, this.account.token);
    const watched = await this.#socket.request<{ live: LiveSummary; iceServers: IceServer[] }>('viewer:watch', {
      liveId: this.liveId,
    });
    this.#peer = peerFor(this.#socket, this.liveId, 'viewer', watched.iceServers, null);
    const { sdpAnswer } = await this.#socket.request<{ sdpAnswer: string }>('viewer:offer', {
      liveId: this.liveId,
      sdpOffer: await this.#peer.offer(),
    });
    await this.#peer.answer(sdpAnswer);
    const peer = this.#peer;
    await until(() => peer.received.video > 0 && peer.received.audio > 0, 'the viewer’s audio and video');
    return performance.now() - started;
  }

  /** `leave`: viewer:leave, then close; `drop`: the socket and the peer just go. */
  async leave(mode: LeaveMode): Promise<void> {
    if (mode === 'leave' && this.#socket) {
      await this.#socket.request('viewer:leave', { liveId: this.liveId }).catch(() => undefined);
    }
    this.#socket?.close();
    await this.#peer?.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The run.

interface MinuteRow extends Figures {
  /** Minutes since the soak started. */
  minute: number;
  joins: number;
  joinFailures: number;
  leaves: number;
  viewers: number;
  serverViewers: number;
  joinMsP50: number;
}

const pct = (values: number[], p: number) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};
const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;
const pad = (value: unknown, width: number) => String(value).padStart(width);

const HEADER =
  ' min  joins fail leaves viewers srvViewers join-p50ms  pipelines endpoints objects' +
  '  apiHeapMB apiRssMB  engHeapMB engRssMB (procs)  udpApi udpEngine  redisKeys';

function rowLine(label: string, r: Partial<MinuteRow> & Figures): string {
  return [
    pad(label, 4),
    pad(r.joins ?? '-', 6),
    pad(r.joinFailures ?? '-', 4),
    pad(r.leaves ?? '-', 6),
    pad(r.viewers ?? '-', 7),
    pad(r.serverViewers ?? '-', 10),
    pad(r.joinMsP50 === undefined || Number.isNaN(r.joinMsP50) ? '-' : Math.round(r.joinMsP50), 10),
    pad(r.pipelines, 10),
    pad(r.endpoints, 9),
    pad(r.objects, 7),
    pad(mb(r.apiHeap), 10),
    pad(mb(r.apiRss), 8),
    pad(mb(r.engineHeap), 10),
    pad(mb(r.engineRss), 8),
    pad(`(${r.engineProcesses})`, 7),
    pad(r.udpApi, 7),
    pad(r.udpEngine, 9),
    pad(r.redisKeys, 10),
  ].join(' ');
}

/** One line per engine process: RSS (anonymous part), V8 heap used/reserved, external (ArrayBuffers), in MB. */
function procsLine(procs: ProcMemory[]): string {
  const f = (n: number) => (Number.isNaN(n) ? '-' : String(mb(n)));
  return (
    '      ' +
    procs
      .map(
        (p) =>
          `${p.name} rss ${f(p.rss)} (anon ${f(p.rssAnon)}) heap ${f(p.heapUsed)}/${f(p.heapTotal)}` +
          (p.spaces
            ? ` [new ${f(p.spaces.new)} old ${f(p.spaces.old)} lo ${f(p.spaces.largeObjects)} code ${f(p.spaces.code)}]`
            : '') +
          ` ext ${f(p.external)} (ab ${f(p.arrayBuffers)})` +
          (p.cpuSeconds === undefined ? '' : ` cpu ${Math.round(p.cpuSeconds)} s`),
      )
      .join(' | ')
  );
}

/** The run's Redis keys by kind (ids replaced by *), with their counts. */
async function keyKinds(sampler: Sampler): Promise<string> {
  const kinds = new Map<string, number>();
  for (const key of await sampler.redisKeys()) {
    const kind = key.slice(sampler.prefix.length).replace(/[0-9a-f]{8,}|[0-9a-z]{12}|\d+(\.\d+)*/g, '*');
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  return [...kinds].map(([k, n]) => `${k} ×${n}`).join(', ');
}

/** Waits until every exact figure equals the baseline (or the time is up); resolves the last sample. */
async function settle(sampler: Sampler, baseline: Figures): Promise<{ figures: Figures; ms: number }> {
  const started = Date.now();
  let figures = await sampler.sample();
  const waiting = CHECKS.filter((c) => c.exact && figures[c.key] !== baseline[c.key]);
  if (waiting.length) {
    const keys = waiting.some((c) => c.key === 'redisKeys') ? ` [${await keyKinds(sampler)}]` : '';
    console.log(
      `  right after: ${waiting.map((c) => `${c.label} ${figures[c.key]} (baseline ${baseline[c.key]})`).join(', ')}${keys}; waiting`,
    );
  }
  while (CHECKS.some((c) => c.exact && figures[c.key] !== baseline[c.key])) {
    if (Date.now() - started > SETTLE_TIMEOUT_MS) break;
    await sleep(2000);
    figures = await sampler.sample();
  }
  // Heap and RSS: the lowest of a few samples (no GC can be forced in the other processes).
  for (let i = 0; i < 4; i++) {
    await sleep(2000);
    const again = await sampler.sample();
    for (const c of CHECKS) if (!c.exact) figures[c.key] = Math.min(figures[c.key], again[c.key]);
  }
  return { figures, ms: Date.now() - started };
}

async function main(): Promise<number> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'onair-bench-soak-'));
  const prefix = `onair_soak_${run}:`;
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  let api: SoakApi | undefined;
  try {
    const clip = await readClip(await makeClip(dir));
    api = await startApi(dir, prefix);
    const sampler = new Sampler(api, redis, prefix);
    const rest = new Rest(api.url);
    console.log(
      `bench:soak: ${MINUTES} min, ${JOINS_PER_MINUTE} joins/min, at most ${MAX_VIEWERS} viewers, dwell ${DWELL_MIN_S}-${DWELL_MAX_S} s; ` +
        `API pid ${api.pid}, engine pid ${api.engine.pid}; Redis prefix ${prefix}`,
    );
    console.log(HEADER);
    const cold = await sampler.sample();
    console.log(rowLine('cold', cold));
    console.log(procsLine(cold.engineProcs));

    // Warm-up: a live with two viewers, then everyone gone (every code path loaded once before the baseline).
    {
      const presenter = new Presenter(api.url, await register(rest, 'w'), clip);
      await presenter.start('soak warm-up');
      const viewers = [await register(rest, 'w'), await register(rest, 'w')];
      await Promise.all(
        viewers.map(async (account, i) => {
          const viewer = new Viewer(api!.url, account, presenter.liveId);
          await viewer.join();
          await sleep(2000);
          await viewer.leave(i === 0 ? 'leave' : 'drop');
        }),
      );
      await presenter.stop();
      for (const account of [presenter.account, ...viewers]) await logout(rest, account);
    }
    const warm = await settle(sampler, cold);
    const baseline = warm.figures;
    console.log(rowLine('base', baseline));
    console.log(procsLine(baseline.engineProcs));
    const coldMismatch = CHECKS.filter((c) => c.exact && baseline[c.key] !== cold[c.key]);
    if (coldMismatch.length) {
      console.log(
        `note: the warm-up left ${coldMismatch.map((c) => `${c.label} ${cold[c.key]} → ${baseline[c.key]}`).join(', ')}`,
      );
    }

    // The soak.
    const presenterAccount = await register(rest, 'p');
    // One after the other: password hashing is heavy, and the API is shared with the live.
    const viewerAccounts: AuthResponse[] = [];
    for (let i = 0; i < MAX_VIEWERS; i++) viewerAccounts.push(await register(rest, 'v'));
    const presenter = new Presenter(api.url, presenterAccount, clip);
    await presenter.start('soak');
    const liveId = presenter.liveId;
    const free = [...viewerAccounts];
    const active = new Set<Promise<void>>();
    let connected = 0;
    let maxConnected = 0;
    const totals = { joins: 0, joinFailures: 0, leaves: 0 };
    const joinTimes: number[] = [];
    const failures = new Map<string, number>();
    let minute = { joins: 0, joinFailures: 0, leaves: 0, joinTimes: [] as number[] };
    let stopping = false;
    let liveLost: string | undefined;

    const cycle = async (account: AuthResponse): Promise<void> => {
      const viewer = new Viewer(api!.url, account, liveId);
      let joined = false;
      try {
        const ms = await viewer.join();
        joined = true;
        connected += 1;
        maxConnected = Math.max(maxConnected, connected);
        totals.joins += 1;
        minute.joins += 1;
        joinTimes.push(ms);
        minute.joinTimes.push(ms);
        const dwellMs = (DWELL_MIN_S + Math.random() * (DWELL_MAX_S - DWELL_MIN_S)) * 1000;
        const leaveAt = Date.now() + dwellMs;
        while (!stopping && Date.now() < leaveAt) await sleep(Math.max(1, Math.min(500, leaveAt - Date.now())));
      } catch (error) {
        totals.joinFailures += 1;
        minute.joinFailures += 1;
        const reason = (error as Error).message.slice(0, 120);
        failures.set(reason, (failures.get(reason) ?? 0) + 1);
      } finally {
        await viewer.leave(Math.random() < 0.5 ? 'leave' : 'drop').catch(() => undefined);
        if (joined) {
          connected -= 1;
          totals.leaves += 1;
          minute.leaves += 1;
        }
        free.push(account);
      }
    };

    const startedAt = Date.now();
    const endAt = startedAt + MINUTES * 60_000;
    const rows: MinuteRow[] = [];
    const presenterRows: Array<{ minute: number; state: string; sent: number; loopback: number }> = [];
    let nextSample = startedAt + SAMPLE_MS;
    const gapMs = 60_000 / JOINS_PER_MINUTE;
    let nextJoin = startedAt;
    while (Date.now() < endAt) {
      if (presenter.ended !== undefined) {
        liveLost = presenter.ended;
        console.log(`the live ended during the soak (${liveLost}): stopping early`);
        break;
      }
      const now = Date.now();
      if (now >= nextJoin) {
        nextJoin += gapMs;
        const account = free.shift();
        if (account) {
          const job: Promise<void> = cycle(account).finally(() => active.delete(job));
          active.add(job);
        }
      }
      if (now >= nextSample) {
        nextSample += SAMPLE_MS;
        const figures = await sampler.sample();
        const summary = await rest
          .withToken(presenterAccount.token)
          .expect<{ live: LiveSummary }>('GET', `/api/lives/${liveId}`, 200)
          .then(
            (r) => r.live.viewerCount,
            () => -1,
          );
        const row: MinuteRow = {
          minute: Math.round((Date.now() - startedAt) / 6000) / 10,
          joins: minute.joins,
          joinFailures: minute.joinFailures,
          leaves: minute.leaves,
          viewers: connected,
          serverViewers: summary,
          joinMsP50: pct(minute.joinTimes, 50),
          ...figures,
        };
        rows.push(row);
        console.log(rowLine(String(row.minute), row));
        console.log(procsLine(row.engineProcs));
        const health = presenter.health();
        presenterRows.push({ minute: row.minute, ...health });
        console.log(`      presenter ${health.state}, frames sent ${health.sent}, loopback packets ${health.loopback}`);
        minute = { joins: 0, joinFailures: 0, leaves: 0, joinTimes: [] };
      }
      await sleep(Math.max(10, Math.min(nextJoin, nextSample, endAt) - Date.now()));
    }

    // Everyone stops: the viewers leave, the live ends, every account logs out.
    stopping = true;
    await Promise.all([...active]);
    await presenter.stop();
    for (const account of [presenterAccount, ...viewerAccounts]) await logout(rest, account);
    const end = await settle(sampler, baseline);
    console.log(rowLine('end', end.figures));
    console.log(procsLine(end.figures.engineProcs));

    console.log(`\nafter the soak (settled in ${Math.round(end.ms / 1000)} s), against the baseline:`);
    const checks = CHECKS.map((c) => {
      const base = baseline[c.key];
      const final = end.figures[c.key];
      const bound = c.key in TOLERANCE ? TOLERANCE[c.key as keyof typeof TOLERANCE] : undefined;
      const tolerance = bound ? Math.max(base * bound.share, bound.floorMB * MB) : 0;
      const ok = c.exact ? final === base : final <= base + tolerance;
      const show = (n: number) => (c.exact ? String(n) : `${mb(n)} MB`);
      console.log(
        `  ${ok ? 'pass' : 'FAIL'}  ${c.label.padEnd(30)} baseline ${show(base).padStart(9)}  after ${show(final).padStart(9)}` +
          (c.exact ? '  (exact)' : `  (tolerance +${mb(tolerance)} MB)`),
      );
      return { check: c.key, baseline: c.exact ? base : mb(base), final: c.exact ? final : mb(final), ok };
    });
    if (end.figures.redisKeys !== baseline.redisKeys) console.log(`  Redis keys now: ${await keyKinds(sampler)}`);
    for (const [reason, n] of failures) console.log(`  join failed ×${n}: ${reason}`);
    if (api.errors.length) console.log(`  API errors logged: ${api.errors.length} (first: ${api.errors[0]})`);
    const topWarnings = [...api.warnings].sort((a, b) => b[1] - a[1]).slice(0, 5);
    if (topWarnings.length) console.log(`  API warnings: ${topWarnings.map(([msg, n]) => `${msg} ×${n}`).join('; ')}`);
    // A viewer who never got audio and video is a failure of the soak too (not only what is left afterwards).
    if (totals.joinFailures > 0)
      console.log(`  FAIL  ${totals.joinFailures} of ${totals.joins + totals.joinFailures} joins failed (none may)`);
    const pass = checks.every((c) => c.ok) && totals.joins > 0 && totals.joinFailures === 0 && liveLost === undefined;
    console.log(
      `\n${pass ? 'PASS' : 'FAIL'}: ${totals.joins} joins (${totals.joinFailures} failed), ${totals.leaves} leaves, at most ${maxConnected} viewers at once; join p50 ${Math.round(pct(joinTimes, 50))} ms, p95 ${Math.round(pct(joinTimes, 95))} ms`,
    );
    console.log(
      JSON.stringify({
        bench: 'soak',
        pass,
        minutes: MINUTES,
        joinsPerMinute: JOINS_PER_MINUTE,
        maxViewers: MAX_VIEWERS,
        dwellSeconds: [DWELL_MIN_S, DWELL_MAX_S],
        joins: totals.joins,
        joinFailures: totals.joinFailures,
        leaves: totals.leaves,
        maxConcurrentViewers: maxConnected,
        joinMsP50: Math.round(pct(joinTimes, 50)),
        joinMsP95: Math.round(pct(joinTimes, 95)),
        apiErrors: api.errors.length,
        apiWarnings: [...api.warnings.values()].reduce((a, b) => a + b, 0),
        liveEndedEarly: liveLost ?? null,
        settleSeconds: Math.round(end.ms / 1000),
        checks,
        presenterRows,
        minutesRows: rows.map((r) => ({
          minute: r.minute,
          joins: r.joins,
          fail: r.joinFailures,
          viewers: r.viewers,
          srvViewers: r.serverViewers,
          pipelines: r.pipelines,
          endpoints: r.endpoints,
          objects: r.objects,
          apiHeapMB: mb(r.apiHeap),
          apiRssMB: mb(r.apiRss),
          engineHeapMB: mb(r.engineHeap),
          engineRssMB: mb(r.engineRss),
          udpApi: r.udpApi,
          udpEngine: r.udpEngine,
          redisKeys: r.redisKeys,
          engineProcsMB: r.engineProcs.map((p) => ({
            name: p.name,
            rss: mb(p.rss),
            rssAnon: mb(p.rssAnon),
            heapUsed: mb(p.heapUsed),
            heapTotal: Number.isNaN(p.heapTotal) ? null : mb(p.heapTotal),
            external: mb(p.external),
            arrayBuffers: Number.isNaN(p.arrayBuffers) ? null : mb(p.arrayBuffers),
            cpuSeconds: p.cpuSeconds === undefined ? null : Math.round(p.cpuSeconds),
            ...(p.spaces && {
              newSpace: mb(p.spaces.new),
              oldSpace: mb(p.spaces.old),
              largeObjectSpace: mb(p.spaces.largeObjects),
              codeSpace: mb(p.spaces.code),
            }),
          })),
        })),
      }),
    );
    return pass ? 0 : 1;
  } finally {
    await api?.stop().catch(() => undefined);
    const leftover = await redis.keys(`${prefix}*`).catch(() => [] as string[]);
    if (leftover.length) await redis.del(...leftover).catch(() => undefined);
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  }
}

process.exit(await main());

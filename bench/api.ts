/**
 * API benchmark of the recordings library: `GET /api/recordings` with filters over 100 000 recordings in a fresh
 * MariaDB database (p50/p95/p99 latency at a fixed concurrency, per query shape and overall), and the throughput
 * of range requests on the media route. The server is onair's own (startServer), in this process; the list
 * requests come from a worker thread (bench/apiClient.ts; BENCH_CLIENT=inline sends them from the server's thread).
 * Then each shape alone (BENCH_PER_SHAPE requests, default 300): its req/s and p50/p95/p99.
 * Usage: npm run bench:api [-- rows concurrency requests]   env BENCH_MYSQL_URL (default mysql://root@127.0.0.1:3306/test),
 * BENCH_DB=sqlite (the embedded database instead), BENCH_CLIENT=inline, BENCH_CLIENT_HTTP=fetch (the worker sends
 * with fetch instead of node:http on kept-alive sockets), BENCH_CPU_PROFILE=<file> (the server thread's CPU profile
 * of the mixed run, for DevTools), BENCH_HEAP_PROFILE=<file> (its sampled allocations, collected ones included: what
 * feeds the garbage collector, whose pauses are the latency's tail).
 * Last output line: one JSON object.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import inspector from 'node:inspector/promises';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { RequestHandler } from 'express';
import mysql from 'mysql2/promise';
import { pino } from 'pino';
import { loadConfig } from '../api/config.js';
import type { AuthResponse, RecordingList, RecordingView } from '../api/contract/rest.js';
import { newPublicId } from '../api/db/index.js';
import { createRecordings, type Recordings } from '../api/recordings/index.js';
import { startServer } from '../api/server.js';
import type { ClientJob, ClientResult } from './apiClient.js';

const ROWS = Number(process.argv[2] ?? 100_000);
const CONCURRENCY = Number(process.argv[3] ?? 16);
const REQUESTS = Number(process.argv[4] ?? 3000);
const RANGE_BYTES = 256 * 1024;
const RANGE_SECONDS = 5;
const USERS = 50;
const LOCATIONS = [
  'Paris, France',
  'Lyon, France',
  'Berlin, Germany',
  'Lagos, Nigeria',
  'Osaka, Japan',
  'Lima, Peru',
  'Austin, United States',
  null,
];
const WORDS = ['morning', 'evening', 'concert', 'lecture', 'review', 'match', 'podcast', 'workshop', 'q&a', 'launch'];
/** One title in ten is Chinese. */
const CJK_WORDS = ['音乐会', '直播', '讲座', '足球比赛', '周末', '访谈'];
/** Requests per shape when each shape runs alone (after the mixed run). */
const PER_SHAPE = Number(process.env.BENCH_PER_SHAPE ?? 300);

/** CPU time (ms) of the local MariaDB/MySQL server so far, from /proc; null when there is none to read. */
async function databaseCpuMs(): Promise<number | null> {
  try {
    for (const pid of await readdir('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      const m = /^\d+ \((mariadbd|mysqld)\) (.*)$/.exec(stat.trim());
      if (!m) continue;
      const fields = m[2]!.split(' '); // from field 3 (state): utime is field 14, stime 15
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 10 ms
    }
  } catch {
    // not Linux, or no permission
  }
  return null;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

const adminUrl = new URL(
  process.env.BENCH_MYSQL_URL ?? process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
);
const dbName = `onair_bench_${randomBytes(5).toString('hex')}`;
const admin = () =>
  mysql.createConnection({
    host: adminUrl.hostname,
    port: Number(adminUrl.port || 3306),
    user: decodeURIComponent(adminUrl.username || 'root'),
    password: decodeURIComponent(adminUrl.password),
  });
const dir = await mkdtemp(path.join(tmpdir(), 'onair-bench-api-'));
const recordingsDir = path.join(dir, 'recordings');

/** BENCH_DB=sqlite: the embedded database (a file in a temporary folder) instead of MariaDB. */
const SQLITE = process.env.BENCH_DB === 'sqlite';
if (!SQLITE) {
  const conn = await admin();
  await conn.query(`CREATE DATABASE \`${dbName}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await conn.end();
}

let recordings: Recordings | null = null;
let closeServer: (() => Promise<void>) | null = null;
try {
  // The server, with the recordings library mounted (its own when start-up wires it).
  const dbUrl = new URL(adminUrl);
  dbUrl.pathname = `/${dbName}`;
  let mounted: RequestHandler | null = null;
  const lazy: RequestHandler = (req, res, next) => (mounted ? mounted(req, res, next) : next());
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    DATABASE_URL: SQLITE ? `sqlite:${path.join(dir, 'bench.sqlite')}` : dbUrl.toString(),
    RECORDINGS_DIR: recordingsDir,
    SIGNING_SECRET: randomBytes(24).toString('base64url'),
    AUTH_RATE_LIMIT: '100000',
  });
  const server = await startServer(config, { frontDir: null, routers: [{ path: '/api/recordings', router: lazy }] });
  closeServer = () => server.close();
  const services = server.services as typeof server.services & { recordings?: Recordings };
  if (!services.recordings) {
    recordings = await createRecordings({
      db: server.db,
      config: services.config,
      sessions: services.sessions,
      log: pino({ level: 'silent' }),
    });
    mounted = recordings.router;
  }
  const base = server.url;

  // Users (through the API, for tokens), then lives and recordings in bulk.
  const started = performance.now();
  const users: AuthResponse[] = [];
  for (let i = 0; i < USERS; i++) {
    const res = await fetch(`${base}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        nickname: `bench_${i}_${randomBytes(3).toString('hex')}`,
        password: 'a long bench password 1',
      }),
    });
    if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
    users.push((await res.json()) as AuthResponse);
  }
  const BASE = Date.now() - 3 * 365 * 86_400_000; // three years of recordings up to now, whatever the date
  const SPAN = Date.now() - BASE;
  const BATCH = 5000;
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let from = 0; from < ROWS; from += BATCH) {
    const lives = [];
    const rows = [];
    for (let i = from; i < Math.min(ROWS, from + BATCH); i++) {
      const user = users[Math.floor(random() * users.length)]!;
      const liveId = newPublicId();
      const startedAt = new Date(BASE + Math.floor((i / ROWS) * SPAN) + Math.floor(random() * 600_000));
      const durationMs = Math.floor(random() * random() * 4 * 3600_000);
      const title =
        i % 10 === 5
          ? `${CJK_WORDS[Math.floor(random() * CJK_WORDS.length)]}${CJK_WORDS[Math.floor(random() * CJK_WORDS.length)]} #${i}`
          : `${WORDS[Math.floor(random() * WORDS.length)]} ${WORDS[Math.floor(random() * WORDS.length)]} #${i}`;
      const kind = i % 100 === 0 ? 'call' : 'broadcast';
      lives.push({
        id: liveId,
        userId: user.user.id,
        kind,
        title,
        status: 'ended',
        startedAt,
        endedAt: new Date(startedAt.getTime() + durationMs),
      });
      rows.push({
        liveId,
        userId: user.user.id,
        title,
        fileName: `${liveId}.webm`,
        startedAt,
        endedAt: new Date(startedAt.getTime() + durationMs),
        durationMs,
        sizeBytes: durationMs * 125,
        location: LOCATIONS[Math.floor(random() * LOCATIONS.length)]!,
        status: random() < 0.95 ? 'ready' : 'incomplete',
        posterFileName: `${liveId}.jpg`,
      });
    }
    await server.db.Live.bulkCreate(lives as never[]);
    await server.db.Recording.bulkCreate(rows as never[]);
  }
  await server.db.sequelize.query(SQLITE ? 'ANALYZE' : 'ANALYZE TABLE recordings, lives, users');
  const seedSeconds = (performance.now() - started) / 1000;

  // One real media file, for the range requests.
  const mediaName = `${newPublicId()}.webm`;
  await promisify(execFile)('ffmpeg', [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=640x360:rate=25',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440',
    '-t',
    '30',
    '-c:v',
    'libvpx',
    '-deadline',
    'realtime',
    '-cpu-used',
    '8',
    '-b:v',
    '1M',
    '-c:a',
    'libopus',
    path.join(recordingsDir, mediaName),
  ]);
  const mediaSize = (await stat(path.join(recordingsDir, mediaName))).size;
  const mediaRow = await server.db.Recording.create({
    userId: users[0]!.user.id,
    title: 'bench media',
    fileName: mediaName,
    startedAt: new Date(),
    durationMs: 30_000,
    sizeBytes: mediaSize,
    status: 'ready',
    posterFileName: 'none.jpg',
  });

  let cursorOfPage1 = '';
  // The query shapes a library page makes.
  const someone = users[3]!;
  const shapes: Array<{ name: string; query: (i: number) => string }> = [
    { name: 'newest first', query: () => 'size=20' },
    { name: 'page 50 of 20', query: () => 'page=50&size=20' },
    {
      name: 'time range, 100',
      query: (i) =>
        `from=${new Date(BASE + (i % 30) * 20 * 86_400_000).toISOString()}&to=${new Date(BASE + ((i % 30) * 20 + 30) * 86_400_000).toISOString()}&size=100`,
    },
    { name: 'duration 30-60 min', query: () => 'minDurationMs=1800000&maxDurationMs=3600000&size=20' },
    { name: 'longest first', query: () => 'sort=durationMs&order=desc&size=20' },
    {
      name: 'location contains',
      query: (i) => `location=${encodeURIComponent(['france', 'osaka', 'peru'][i % 3]!)}&size=20`,
    },
    {
      name: 'search, common word',
      query: (i) => `q=${encodeURIComponent(['concert', 'review', 'q&a'][i % 3]!)}&size=20`,
    },
    {
      name: 'search, Chinese',
      query: (i) => `q=${encodeURIComponent(['音乐会', '直播', '足球比赛'][i % 3]!)}&size=20`,
    },
    // A different number each time: never a cached answer.
    { name: 'search, one of a kind', query: (i) => `q=${10_000 + ((i * 7919) % 90_000)}&size=20` },
    { name: 'next page by cursor', query: () => `size=20&cursor=${cursorOfPage1}` },
    { name: 'presenter', query: (i) => `presenter=${encodeURIComponent(users[i % USERS]!.user.nickname)}&size=20` },
    { name: 'mine, by title', query: () => 'mine=true&sort=title&order=asc&size=50' },
    {
      name: 'combined',
      query: (i) =>
        `from=${new Date(BASE + 365 * 86_400_000).toISOString().slice(0, 10)}&minDurationMs=600000&location=france&sort=durationMs&order=asc&presenter=${users[i % USERS]!.user.id}&size=20`,
    },
  ];

  async function timed(
    url: string,
    token: string | null,
    headers: Record<string, string> = {},
  ): Promise<{ ms: number; status: number; bytes: number }> {
    const t0 = performance.now();
    const res = await fetch(url, { headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
    const body = await res.arrayBuffer();
    return { ms: performance.now() - t0, status: res.status, bytes: body.byteLength };
  }

  async function pool(count: number, worker: (i: number) => Promise<void>): Promise<number> {
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < count) await worker(next++);
      }),
    );
    return (performance.now() - t0) / 1000;
  }

  const first = (await (
    await fetch(`${base}/api/recordings?size=20`, { headers: { authorization: `Bearer ${someone.token}` } })
  ).json()) as RecordingList;
  cursorOfPage1 = first.nextCursor!;

  // Sanity: every shape answers 200 with a plausible total.
  const totals: Record<string, number> = {};
  for (const shape of shapes) {
    const res = await fetch(`${base}/api/recordings?${shape.query(0)}`, {
      headers: { authorization: `Bearer ${someone.token}` },
    });
    if (res.status !== 200) throw new Error(`${shape.name}: ${res.status} ${await res.text()}`);
    totals[shape.name] = ((await res.json()) as RecordingList).total;
  }

  // The load generator: a worker thread (BENCH_CLIENT=inline: this thread, sharing the server's event loop).
  const inline = process.env.BENCH_CLIENT === 'inline';
  const CLIENT_HTTP = process.env.BENCH_CLIENT_HTTP === 'fetch' ? 'fetch' : 'node';
  const client = inline ? null : new Worker(new URL('./apiClient.ts', import.meta.url));
  async function load(requests: ClientJob['requests']): Promise<ClientResult> {
    if (client) {
      const done = new Promise<ClientResult>((resolve, reject) => {
        const failed = (err: Error) => {
          client.off('message', answered);
          reject(err);
        };
        const answered = (result: ClientResult) => {
          client.off('error', failed);
          resolve(result);
        };
        client.once('message', answered);
        client.once('error', failed);
      });
      client.postMessage({ requests, concurrency: CONCURRENCY, http: CLIENT_HTTP } satisfies ClientJob);
      return done;
    }
    const ms: number[] = [];
    const status: number[] = [];
    const seconds = await pool(requests.length, async (i) => {
      const r = await timed(requests[i]!.url, requests[i]!.token);
      ms[i] = r.ms;
      status[i] = r.status;
    });
    return { ms, status, seconds };
  }

  // Warm-up, then the measured run.
  await load(
    Array.from({ length: 200 }, (_, i) => ({
      url: `${base}/api/recordings?${shapes[i % shapes.length]!.query(i)}`,
      token: someone.token,
    })),
  );
  const perShape = new Map<string, number[]>(shapes.map((s) => [s.name, []]));
  let errors = 0;
  const profiler = process.env.BENCH_CPU_PROFILE ? new inspector.Session() : null;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  const heapProfiler = process.env.BENCH_HEAP_PROFILE ? new inspector.Session() : null;
  if (heapProfiler) {
    heapProfiler.connect();
    await heapProfiler.post('HeapProfiler.startSampling', {
      samplingInterval: 16384,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }
  // CPU of this thread (the server's, when the client has its own), or of the process on a Node without it.
  const threadCpu = () => (process.threadCpuUsage ?? process.cpuUsage)();
  // SQL statements the server runs (load-independent, unlike latency): a cached answer runs none.
  let statements = 0;
  server.db.sequelize.addHook('afterQuery', 'bench-api-statements', () => void statements++);
  const cpu0 = threadCpu();
  const process0 = process.cpuUsage();
  const db0 = SQLITE ? null : await databaseCpuMs();
  const mixed = await load(
    Array.from({ length: REQUESTS }, (_, i) => ({
      url: `${base}/api/recordings?${shapes[i % shapes.length]!.query(i)}`,
      token: users[i % USERS]!.token,
    })),
  );
  const cpu1 = threadCpu();
  const statementsPerRequest = statements / REQUESTS;
  const process1 = process.cpuUsage(process0);
  const db1 = SQLITE ? null : await databaseCpuMs();
  const cpuMsPerRequest = (cpu1.user - cpu0.user + cpu1.system - cpu0.system) / 1000 / REQUESTS;
  const processCpuMsPerRequest = (process1.user + process1.system) / 1000 / REQUESTS;
  const dbCpuMsPerRequest = db0 !== null && db1 !== null ? (db1 - db0) / REQUESTS : null;
  if (profiler) {
    const { profile } = await profiler.post('Profiler.stop');
    await writeFile(process.env.BENCH_CPU_PROFILE!, JSON.stringify(profile));
    profiler.disconnect();
  }
  if (heapProfiler) {
    const { profile } = await heapProfiler.post('HeapProfiler.stopSampling');
    await writeFile(process.env.BENCH_HEAP_PROFILE!, JSON.stringify(profile));
    heapProfiler.disconnect();
  }
  const listSeconds = mixed.seconds;
  mixed.ms.forEach((ms, i) => {
    if (mixed.status[i] !== 200) errors++;
    perShape.get(shapes[i % shapes.length]!.name)!.push(ms);
  });
  const all = [...mixed.ms].sort((a, b) => a - b);
  const loadDuringList = os.loadavg();

  // Each shape alone: its own throughput and latency at the same concurrency.
  const solo = new Map<string, { rps: number; ms: number[]; statements: number }>();
  for (const shape of shapes) {
    const statements0 = statements;
    const alone = await load(
      Array.from({ length: PER_SHAPE }, (_, i) => ({
        url: `${base}/api/recordings?${shape.query(i + REQUESTS)}`,
        token: users[i % USERS]!.token,
      })),
    );
    errors += alone.status.filter((s) => s !== 200).length;
    solo.set(shape.name, {
      rps: PER_SHAPE / alone.seconds,
      ms: [...alone.ms].sort((a, b) => a - b),
      statements: (statements - statements0) / PER_SHAPE,
    });
  }
  server.db.sequelize.removeHook('afterQuery', 'bench-api-statements');
  await client?.terminate();

  // Range requests on the media route (a <video> seeking around): random 256 KiB ranges for a few seconds.
  const view = (await (
    await fetch(`${base}/api/recordings/${mediaRow.id}`, { headers: { authorization: `Bearer ${someone.token}` } })
  ).json()) as RecordingView;
  const rangeMs: number[] = [];
  let rangeBytes = 0;
  let rangeErrors = 0;
  const deadline = performance.now() + RANGE_SECONDS * 1000;
  const rangeT0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        const start = Math.floor(random() * (mediaSize - RANGE_BYTES));
        const r = await timed(`${base}${view.mediaUrl}`, null, { range: `bytes=${start}-${start + RANGE_BYTES - 1}` });
        if (r.status !== 206 || r.bytes !== RANGE_BYTES) rangeErrors++;
        rangeBytes += r.bytes;
        rangeMs.push(r.ms);
      }
    }),
  );
  const rangeSeconds = (performance.now() - rangeT0) / 1000;
  rangeMs.sort((a, b) => a - b);

  // Report.
  console.log(
    `\nonair bench:api: ${ROWS} recordings (+${ROWS} lives, ${USERS} users) in ${SQLITE ? 'SQLite' : 'MariaDB'}, seeded in ${round(seedSeconds)} s; ${os.availableParallelism()} cores`,
  );
  console.log(
    `GET /api/recordings, concurrency ${CONCURRENCY}, ${REQUESTS} requests rotating ${shapes.length} query shapes\n`,
  );
  const cols = (ms: number[]) => [50, 95, 99].map((p) => round(percentile(ms, p)).toFixed(1).padStart(9)).join('');
  console.log(
    `${'query shape'.padEnd(24)}${'matches'.padStart(9)}${'p50 ms'.padStart(9)}${'p95 ms'.padStart(9)}${'p99 ms'.padStart(9)}   │ alone: ${'req/s'.padStart(7)}${'p50 ms'.padStart(9)}${'p95 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'SQL/req'.padStart(9)}`,
  );
  for (const shape of shapes) {
    const ms = perShape.get(shape.name)!.sort((a, b) => a - b);
    const alone = solo.get(shape.name)!;
    console.log(
      `${shape.name.padEnd(24)}${String(totals[shape.name]).padStart(9)}${cols(ms)}   │        ${round(alone.rps).toFixed(0).padStart(7)}${cols(alone.ms)}${round(alone.statements, 2).toFixed(2).padStart(9)}`,
    );
  }
  console.log(`${'all (mixed)'.padEnd(24)}${''.padStart(9)}${cols(all)}`);
  console.log(
    `throughput ${round(REQUESTS / listSeconds)} req/s mixed, ${errors} errors; CPU per request: server thread ${round(cpuMsPerRequest, 2)} ms, this process ${round(processCpuMsPerRequest, 2)} ms (client ${inline ? 'in the same thread' : `in a worker thread, ${CLIENT_HTTP === 'fetch' ? 'fetch' : 'node:http'}`}), MariaDB ${dbCpuMsPerRequest === null ? 'n/a' : `${round(dbCpuMsPerRequest, 2)} ms`}; ${round(statementsPerRequest, 2)} SQL statements per request; load average ${loadDuringList.map((l) => l.toFixed(2)).join(' ')} (1, 5, 15 min) at the end of the mixed run\n`,
  );
  const rangeMBps = rangeBytes / rangeSeconds / 1024 / 1024;
  console.log(
    `media route: random ${RANGE_BYTES / 1024} KiB ranges of a ${round(mediaSize / 1024 / 1024, 2)} MiB WebM, concurrency ${CONCURRENCY}, ${RANGE_SECONDS} s`,
  );
  console.log(
    `  ${rangeMs.length} requests, ${round(rangeMs.length / rangeSeconds)} req/s, ${round(rangeMBps)} MiB/s, p50 ${round(percentile(rangeMs, 50))} ms, p99 ${round(percentile(rangeMs, 99))} ms, ${rangeErrors} errors\n`,
  );
  console.log(
    JSON.stringify({
      bench: 'api',
      database: SQLITE ? 'sqlite' : 'mariadb',
      rows: ROWS,
      concurrency: CONCURRENCY,
      requests: REQUESTS,
      p50Ms: round(percentile(all, 50)),
      p95Ms: round(percentile(all, 95)),
      p99Ms: round(percentile(all, 99)),
      rps: round(REQUESTS / listSeconds),
      errors,
      cpuMsPerRequest: round(cpuMsPerRequest, 2),
      processCpuMsPerRequest: round(processCpuMsPerRequest, 2),
      dbCpuMsPerRequest: dbCpuMsPerRequest === null ? null : round(dbCpuMsPerRequest, 2),
      statementsPerRequest: round(statementsPerRequest, 2),
      client: inline ? 'inline' : 'worker',
      clientHttp: inline ? 'fetch' : CLIENT_HTTP,
      rangeRps: round(rangeMs.length / rangeSeconds),
      rangeMBps: round(rangeMBps),
      rangeP50Ms: round(percentile(rangeMs, 50)),
      rangeP99Ms: round(percentile(rangeMs, 99)),
      rangeErrors,
      cores: os.availableParallelism(),
      loadAvg: loadDuringList.map((l) => round(l, 2)),
      shapes: Object.fromEntries(
        shapes.map((shape) => {
          const ms = perShape.get(shape.name)!;
          const alone = solo.get(shape.name)!;
          return [
            shape.name,
            {
              matches: totals[shape.name],
              p50Ms: round(percentile(ms, 50)),
              p99Ms: round(percentile(ms, 99)),
              aloneRps: round(alone.rps),
              aloneP50Ms: round(percentile(alone.ms, 50)),
              aloneP95Ms: round(percentile(alone.ms, 95)),
              aloneP99Ms: round(percentile(alone.ms, 99)),
              aloneStatementsPerRequest: round(alone.statements, 2),
            },
          ];
        }),
      ),
    }),
  );
} finally {
  await recordings?.close();
  await closeServer?.();
  if (SQLITE) {
    // the file goes with the temporary folder
  } else if (process.env.BENCH_KEEP_DB) {
    console.error(`kept database ${dbName}`);
  } else {
    const c = await admin();
    await c.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
    await c.end();
  }
  await rm(dir, { recursive: true, force: true });
}

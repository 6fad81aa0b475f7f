/**
 * bench:chat: one live, many chat clients over two API processes on Redis. Two real API processes (`api/main.ts`
 * as children, each with its embedded engine) share one MariaDB database (created and dropped by the bench: two
 * processes writing one SQLite file would lock), one Redis key prefix and one signing secret. A werift presenter
 * goes on air on the first; then the clients (socket.io-client, as the front end signals), half on each process,
 * `viewer:watch` and `chat:join` the live. For the run's seconds, chat messages go out at a steady rate from
 * rotating senders (enough accounts that none reaches the per-account chat rate limit), each text carrying a
 * sequence number, while many clients flood `reaction:send`. Each client records when each `chat:message`
 * arrives; the latency of a delivery is its arrival minus the sender's emit (one process, one clock). Every
 * accepted message must reach every client exactly once: lost and duplicated deliveries are counted.
 *
 * It reports latency p50/p95/p99/max, lost and duplicates, sends refused, reactions accepted and refused,
 * `reaction:burst` events and the reactions they counted, the CPU of each API process and of redis-server
 * (/proc/<pid>/stat deltas over the run) and the load average. Pass: nothing lost or duplicated, no send refused,
 * p95 ≤ 200 ms. Exit code 1 otherwise.
 *
 * Usage: npm run bench:chat [-- --clients 1000 --accounts 100 --seconds 20 --rate 50 --reactions 1000]
 * (or CHAT_BENCH_CLIENTS, CHAT_BENCH_ACCOUNTS, CHAT_BENCH_SECONDS, CHAT_BENCH_RATE, CHAT_BENCH_REACTIONS: reactions
 * per second over all clients). Needs ffmpeg, Redis (REDIS_URL, default redis://127.0.0.1:6379) and MariaDB
 * (CHAT_BENCH_MYSQL_URL, default mysql://root@127.0.0.1:3306). The last line is one JSON object {"bench":"chat",...}.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs, promisify } from 'node:util';
import { Redis } from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import type { AuthResponse } from '../api/contract/rest.js';
import type { ChatMessage, ReactionBurst, ReactionKind } from '../api/contract/chat.js';
import { REACTION_KINDS } from '../api/contract/chat.js';
import { SIGNALLING_PATH, type IceCandidateInit, type IceServer } from '../api/contract/signalling.js';
import { Rest, Signalling, signUp } from '../smoke/client.js';
import { makeClip, readClip } from '../smoke/media.js';
import { SmokePeer } from '../smoke/peer.js';
import { startApiProcess, type ApiProcess } from './apiProcess.js';
import { cpuTicks, positiveArg } from './proc.js';
import { createMariaDatabase } from '../drivers/mariadb.js';

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: process.env.CHAT_BENCH_CLIENTS ?? '1000' },
    accounts: { type: 'string', default: process.env.CHAT_BENCH_ACCOUNTS ?? '100' },
    seconds: { type: 'string', default: process.env.CHAT_BENCH_SECONDS ?? '20' },
    rate: { type: 'string', default: process.env.CHAT_BENCH_RATE ?? '50' },
    reactions: { type: 'string', default: process.env.CHAT_BENCH_REACTIONS ?? '1000' },
  },
});

const positive = (name: string, value: string, max: number): number => positiveArg('bench:chat', name, value, max);

const CLIENTS = Math.round(positive('clients', args.clients, 20_000));
const ACCOUNTS = Math.round(positive('accounts', args.accounts, 5_000));
const SECONDS = positive('seconds', args.seconds, 3600);
const RATE = positive('rate', args.rate, 1000);
const REACTIONS_PER_S = positive('reactions', args.reactions, 100_000);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const MYSQL_URL = process.env.CHAT_BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
const TARGET_P95_MS = 200;
/** The server's chat limit per account (api/chat/ChatService.ts): 8 messages every 10 s. */
const CHAT_PER_ACCOUNT_PER_S = 0.8;
/** How long late deliveries may still arrive after the last send. */
const DRAIN_MS = 5000;
const run = randomBytes(3).toString('hex');

if (CLIENTS < 2 * ACCOUNTS) {
  console.error(`bench:chat: --clients must be at least twice --accounts (each account has a socket on each process)`);
  process.exit(2);
}
if (RATE / ACCOUNTS > CHAT_PER_ACCOUNT_PER_S * 0.75) {
  console.error(
    `bench:chat: ${RATE} messages/s over ${ACCOUNTS} accounts exceeds the per-account chat limit; use more --accounts`,
  );
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------------------------
// The API processes.

function startApi(name: string, dir: string, shared: NodeJS.ProcessEnv): Promise<ApiProcess> {
  return startApiProcess({
    name,
    env: { ...shared, LOG_LEVEL: 'warn', RECORDINGS_DIR: path.join(dir, `recordings-${name}`) },
  });
}

async function redisPid(redis: Redis): Promise<number> {
  const fromInfo = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1] ?? 0);
  if (fromInfo && (await cpuTicks(fromInfo)) > 0) return fromInfo;
  const out = await promisify(execFile)('pidof', ['redis-server']).catch(() => ({ stdout: '' }));
  return Number(out.stdout.trim().split(/\s+/)[0] ?? 0);
}

/** Redis's own CPU seconds (user + sys), from INFO: valid even when the server runs elsewhere. */
async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
  return user + sys;
}

/** Busy CPU ticks of the whole machine (all cores: user, nice, system, irq, softirq, steal), from /proc/stat. */
async function machineBusyTicks(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return user! + nice! + system! + irq! + softirq! + steal!;
}

/** The processes under `roots` (their children, and theirs): the API's embedded engine and its workers. */
async function descendants(roots: number[]): Promise<number[]> {
  const parent = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid) parent.set(Number(entry), ppid);
  }
  const found = new Set<number>();
  let frontier = new Set(roots);
  while (frontier.size) {
    const next = new Set<number>();
    for (const [pid, ppid] of parent) {
      if (!frontier.has(ppid) || found.has(pid)) continue;
      next.add(pid);
      found.add(pid);
    }
    frontier = next;
  }
  return [...found];
}

// ---------------------------------------------------------------------------------------------------------------
// Clients.

type Ack = { ok: boolean; error?: { code?: string; message?: string } };

class ChatClient {
  socket: Socket | undefined;
  /** Receipts per message sequence number. */
  readonly seen: Uint8Array;
  bursts = 0;
  burstReactions = 0;
  /** chat:join refused with live.notWatching right after viewer:watch was acknowledged (then tried again). */
  joinRaces = 0;

  constructor(
    readonly index: number,
    readonly api: ApiProcess,
    readonly account: AuthResponse,
    maxMessages: number,
    readonly onMessage: (client: ChatClient, seq: number, at: number) => void,
  ) {
    this.seen = new Uint8Array(maxMessages);
  }

  async connect(liveId: string): Promise<void> {
    const socket = io(this.api.url.origin, {
      path: SIGNALLING_PATH,
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: 30_000,
      auth: { token: this.account.token },
    });
    this.socket = socket;
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (error: Error & { data?: { code?: string } }) =>
        reject(new Error(`client ${this.index}: connection refused (${error.data?.code ?? error.message})`)),
      );
    });
    socket.on('chat:message', (msg: ChatMessage) => {
      const at = performance.now();
      const seq = Number(/^bench (\d+)/.exec(msg.text)?.[1] ?? -1);
      if (seq >= 0) this.onMessage(this, seq, at);
    });
    socket.on('reaction:burst', (burst: ReactionBurst) => {
      this.bursts += 1;
      for (const n of Object.values(burst.counts)) this.burstReactions += n ?? 0;
    });
    await this.request('viewer:watch', { liveId });
    // With the Redis adapter, viewer:watch puts the socket in the audience room through a Redis round trip
    // (socketsJoin only publishes), so it may answer before the socket is in the room and an immediate chat:join
    // is refused with live.notWatching. The bench counts those races and tries again (at most 20 times, 50 ms
    // apart) rather than hide them.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.request('chat:join', { liveId });
        return;
      } catch (error) {
        if (!/live\.notWatching/.test((error as Error).message) || attempt >= 20) throw error;
        this.joinRaces += 1;
        await sleep(50);
      }
    }
  }

  async request(event: string, payload: unknown): Promise<void> {
    const ack = (await this.socket!.timeout(30_000).emitWithAck(event, payload)) as Ack;
    if (!ack.ok) throw new Error(`${event} refused: ${ack.error?.code}: ${ack.error?.message}`);
  }

  close(): void {
    this.socket?.close();
  }
}

/** Runs `fn` over `items`, `concurrency` at a time. */
async function pool<T>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

const pct = (sorted: Float64Array, p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const round1 = (n: number) => Math.round(n * 10) / 10;

// ---------------------------------------------------------------------------------------------------------------
// The run.

async function main(): Promise<number> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'onair-bench-chat-'));
  const prefix = `onair_benchchat_${run}:`;
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  const db = await createMariaDatabase(MYSQL_URL, `onair_bench_chat_${run}`);
  const apis: ApiProcess[] = [];
  const clients: ChatClient[] = [];
  let presenterSocket: Signalling | undefined;
  let presenterPeer: SmokePeer | undefined;
  let onAirLive = '';
  try {
    const clip = await readClip(await makeClip(dir));
    // Shared by both processes. The socket limits are raised for the bench: its clients share a few accounts and
    // one address (the defaults are 20 sockets per account and 200 per address).
    const shared: NodeJS.ProcessEnv = {
      DATABASE_URL: db.url,
      REDIS_URL,
      STORE_PREFIX: prefix,
      SIGNING_SECRET: randomBytes(24).toString('base64url'),
      AUTH_RATE_LIMIT: '100000',
      SOCKETS_PER_ACCOUNT: String(Math.ceil(CLIENTS / ACCOUNTS) + 10),
      SOCKETS_PER_ADDRESS: String(CLIENTS + 100),
    };
    // One after the other: the first runs the migrations.
    apis.push(await startApi('A', dir, shared));
    apis.push(await startApi('B', dir, shared));
    console.log(
      `bench:chat: ${CLIENTS} clients on ${ACCOUNTS} accounts over 2 API processes (pids ${apis.map((a) => a.pid).join(', ')}), ` +
        `${RATE} messages/s and ${REACTIONS_PER_S} reactions/s for ${SECONDS} s; Redis prefix ${prefix}`,
    );

    const rest = new Rest(apis[0]!.url);
    const password = randomBytes(18).toString('base64url');
    const accounts: AuthResponse[] = new Array<AuthResponse>(ACCOUNTS);
    await pool(
      Array.from({ length: ACCOUNTS }, (_, i) => i),
      4,
      async (i) => {
        accounts[i] = await signUp(new Rest(apis[i % 2]!.url), `chat_${run}_${i}`, password);
      },
    );
    const presenterAccount = await signUp(rest, `chat_${run}_p`, password);

    // The presenter goes on air (real media: a werift peer sending the clip).
    presenterSocket = await Signalling.connect(apis[0]!.url, presenterAccount.token);
    const reserved = await presenterSocket.request<{ liveId: string; iceServers: IceServer[] }>('presenter:start', {
      title: 'bench chat',
    });
    const liveId = reserved.liveId;
    onAirLive = liveId;
    const socket = presenterSocket;
    presenterPeer = SmokePeer.presenter(
      {
        iceServers: reserved.iceServers,
        relayOnly: false,
        onCandidate: (candidate: IceCandidateInit) =>
          socket.send('ice:candidate', { liveId, role: 'presenter', candidate }, () => undefined),
      },
      clip,
    );
    const peer = presenterPeer;
    socket.on('ice:candidate', (msg: { liveId: string; role: string; candidate: IceCandidateInit }) => {
      if (msg.liveId === liveId && msg.role === 'presenter') peer.addCandidate(msg.candidate);
    });
    const { sdpAnswer } = await socket.request<{ sdpAnswer: string }>('presenter:offer', {
      liveId,
      sdpOffer: await peer.offer(),
    });
    await peer.answer(sdpAnswer);
    const onAirBy = Date.now() + 30_000;
    while (!(peer.received.video > 0 && peer.received.audio > 0)) {
      if (Date.now() > onAirBy) throw new Error('the presenter’s loopback never arrived');
      await sleep(50);
    }
    let liveEnded: string | null = null;
    socket.on('live:ended', (msg: { liveId: string; reason: string }) => {
      if (msg.liveId === liveId) liveEnded ??= msg.reason;
    });

    // The clients, half on each process.
    const maxMessages = Math.ceil(RATE * SECONDS) + 10;
    const sentAt = new Float64Array(maxMessages);
    const accepted = new Uint8Array(maxMessages);
    const latencies = new Float64Array(maxMessages * CLIENTS);
    let deliveries = 0;
    let duplicates = 0;
    let unknown = 0;
    const onMessage = (client: ChatClient, seq: number, at: number) => {
      if (seq >= maxMessages || sentAt[seq] === 0) {
        unknown += 1;
        return;
      }
      if (client.seen[seq]! > 0) duplicates += 1;
      else latencies[deliveries++] = at - sentAt[seq]!;
      client.seen[seq] = Math.min(255, client.seen[seq]! + 1);
    };
    // Client i: on process i mod 2, account ⌊i / 2⌋ mod ACCOUNTS (so each account has sockets on both).
    for (let i = 0; i < CLIENTS; i++)
      clients.push(new ChatClient(i, apis[i % 2]!, accounts[Math.floor(i / 2) % ACCOUNTS]!, maxMessages, onMessage));
    const joinStarted = performance.now();
    await pool(clients, 50, (client) => client.connect(liveId));
    const joinSeconds = (performance.now() - joinStarted) / 1000;
    const joinRaces = clients.reduce((n, c) => n + c.joinRaces, 0);
    console.log(`${CLIENTS} clients joined the chat in ${round1(joinSeconds)} s; the run starts`);

    // The run: messages at RATE from rotating senders, reactions at REACTIONS_PER_S from random clients.
    const redisProcess = await redisPid(redis);
    const cpu0 = await Promise.all(apis.map((a) => cpuTicks(a.pid)));
    const redisTicks0 = redisProcess ? await cpuTicks(redisProcess) : 0;
    const redisInfo0 = await redisCpuSeconds(redis);
    const engines = await descendants(apis.map((a) => a.pid));
    const enginesTicks = async () => (await Promise.all(engines.map(cpuTicks))).reduce((a, b) => a + b, 0);
    const engineTicks0 = await enginesTicks();
    const machine0 = await machineBusyTicks();
    const benchCpu0 = process.cpuUsage();
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const t0 = performance.now();
    const sendRefused = new Map<string, number>();
    const reactions = { sent: 0, accepted: 0, refused: 0 };
    const reactionRefused = new Map<string, number>();
    const inflight = new Set<Promise<void>>();
    const track = (p: Promise<void>) => {
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    };
    // The sender of message `seq`: consecutive messages from different accounts, alternating processes.
    const senderOf = (seq: number) =>
      clients[(2 * (seq % ACCOUNTS) + ((seq + Math.floor(seq / ACCOUNTS)) % 2)) % clients.length];
    let seq = 0;
    let reactionDebt = 0;
    let lastTick = t0;
    const endAt = t0 + SECONDS * 1000;
    while (performance.now() < endAt && liveEnded === null) {
      const now = performance.now();
      const due = Math.min(maxMessages, Math.floor(((now - t0) / 1000) * RATE) + 1);
      while (seq < due) {
        const n = seq++;
        const sender = senderOf(n) ?? clients[n % clients.length]!;
        sentAt[n] = performance.now();
        track(
          sender.request('chat:send', { liveId, text: `bench ${n} from ${sender.index}` }).then(
            () => void (accepted[n] = 1),
            (error: Error) => {
              const reason = error.message.slice(0, 100);
              sendRefused.set(reason, (sendRefused.get(reason) ?? 0) + 1);
            },
          ),
        );
      }
      reactionDebt += ((now - lastTick) / 1000) * REACTIONS_PER_S;
      lastTick = now;
      while (reactionDebt >= 1) {
        reactionDebt -= 1;
        reactions.sent += 1;
        // In turn: each account reacts evenly, on both processes (under the per-account limit of 10/s).
        const client = clients[reactions.sent % clients.length]!;
        const reaction: ReactionKind = REACTION_KINDS[reactions.sent % REACTION_KINDS.length]!;
        track(
          client.request('reaction:send', { liveId, reaction }).then(
            () => void (reactions.accepted += 1),
            (error: Error) => {
              reactions.refused += 1;
              const reason = error.message.slice(0, 100);
              reactionRefused.set(reason, (reactionRefused.get(reason) ?? 0) + 1);
            },
          ),
        );
      }
      await sleep(10);
    }
    const sendSeconds = (performance.now() - t0) / 1000;
    await Promise.all([...inflight]);
    // Late deliveries, and the last reaction burst (aggregated once a second).
    const drainBy = performance.now() + DRAIN_MS;
    let acceptedCount = 0;
    for (let i = 0; i < seq; i++) acceptedCount += accepted[i]!;
    while (performance.now() < drainBy && deliveries < acceptedCount * CLIENTS) await sleep(50);
    await sleep(1500);
    const elapsed = (performance.now() - t0) / 1000;
    const cpu1 = await Promise.all(apis.map((a) => cpuTicks(a.pid)));
    const redisTicks1 = redisProcess ? await cpuTicks(redisProcess) : 0;
    const redisInfo1 = await redisCpuSeconds(redis);
    const load = os.loadavg();
    const engineTicks1 = await enginesTicks();
    const machine1 = await machineBusyTicks();
    loopDelay.disable();
    const benchCpu = process.cpuUsage(benchCpu0);
    const benchCpuPercent = round1(((benchCpu.user + benchCpu.system) / 1e6 / elapsed) * 100);
    const loopDelayP99Ms = round1(loopDelay.percentile(99) / 1e6);
    const enginePercent = round1(((engineTicks1 - engineTicks0) / 100 / elapsed) * 100);
    const machinePercent = round1(((machine1 - machine0) / 100 / elapsed) * 100);

    // Figures.
    let lost = 0;
    for (const client of clients) for (let i = 0; i < seq; i++) if (accepted[i] && client.seen[i] === 0) lost += 1;
    const expected = acceptedCount * CLIENTS;
    const sorted = latencies.slice(0, deliveries).sort();
    const p50 = pct(sorted, 50);
    const p95 = pct(sorted, 95);
    const p99 = pct(sorted, 99);
    const max = sorted.length ? sorted[sorted.length - 1]! : NaN;
    const apiCpu = apis.map((a, i) => ({
      name: a.name,
      pid: a.pid,
      cpuPercent: round1(((cpu1[i]! - cpu0[i]!) / 100 / elapsed) * 100),
    }));
    const redisCpuPercent = round1(
      redisProcess ? ((redisTicks1 - redisTicks0) / 100 / elapsed) * 100 : ((redisInfo1 - redisInfo0) / elapsed) * 100,
    );
    // What the rest of the machine used meanwhile (other programs sharing the cores), in % of one core.
    const othersPercent = round1(
      machinePercent - benchCpuPercent - enginePercent - redisCpuPercent - apiCpu.reduce((n, c) => n + c.cpuPercent, 0),
    );
    const bursts = clients.reduce((n, c) => n + c.bursts, 0);
    const burstReactionsSeen = [clients[0]!, clients[1]!].map((c) => c.burstReactions);
    const refusedSends = [...sendRefused.values()].reduce((a, b) => a + b, 0);
    const apiErrors = apis.reduce((n, a) => n + a.errors.length, 0);
    const pass = lost === 0 && duplicates === 0 && refusedSends === 0 && liveEnded === null && p95 <= TARGET_P95_MS;

    const row = (label: string, value: string) => console.log(`  ${label.padEnd(38)} ${value}`);
    console.log('');
    row('messages sent / accepted', `${seq} / ${acceptedCount} in ${round1(sendSeconds)} s`);
    row('deliveries expected / received', `${expected} / ${deliveries}`);
    row('lost / duplicates / unknown', `${lost} / ${duplicates} / ${unknown}`);
    row('latency p50 / p95 / p99 / max', `${round1(p50)} / ${round1(p95)} / ${round1(p99)} / ${round1(max)} ms`);
    row('reactions sent / accepted / refused', `${reactions.sent} / ${reactions.accepted} / ${reactions.refused}`);
    row('reaction:burst events (all clients)', `${bursts}`);
    row('reactions counted in bursts (A, B)', burstReactionsSeen.join(', '));
    for (const c of apiCpu) row(`API ${c.name} CPU (pid ${c.pid})`, `${c.cpuPercent} %`);
    row(`Redis CPU (${redisProcess ? `pid ${redisProcess}` : 'INFO'})`, `${redisCpuPercent} %`);
    row('bench process CPU (all clients)', `${benchCpuPercent} %, event-loop delay p99 ${loopDelayP99Ms} ms`);
    row('engine processes CPU (both APIs)', `${enginePercent} % (${engines.length} processes)`);
    row('whole machine CPU / of it others', `${machinePercent} % / ${othersPercent} % (100 % = one core)`);
    row('load average 1/5/15 min', load.map(round1).join(' / ') + ` (${os.cpus().length} cores)`);
    row('join time', `${round1(joinSeconds)} s`);
    row(
      'chat:join raced viewer:watch (retried)',
      `${joinRaces} (${clients.filter((c) => c.joinRaces).length} clients)`,
    );
    for (const [reason, n] of sendRefused) row('chat:send refused', `×${n}: ${reason}`);
    for (const [reason, n] of reactionRefused) row('reaction:send refused', `×${n}: ${reason}`);
    if (liveEnded) row('the live ended during the run', liveEnded);
    if (apiErrors) row('API errors logged', String(apiErrors));
    console.log(
      `\n${pass ? 'PASS' : 'FAIL'}: p95 ${round1(p95)} ms (target ≤ ${TARGET_P95_MS}), ${lost} lost, ${duplicates} duplicates`,
    );
    console.log(
      JSON.stringify({
        bench: 'chat',
        pass,
        clients: CLIENTS,
        accounts: ACCOUNTS,
        processes: 2,
        seconds: SECONDS,
        rate: RATE,
        reactionsPerSecond: REACTIONS_PER_S,
        messagesSent: seq,
        messagesAccepted: acceptedCount,
        sendsRefused: refusedSends,
        deliveriesExpected: expected,
        deliveries,
        lost,
        duplicates,
        latencyMs: { p50: round1(p50), p95: round1(p95), p99: round1(p99), max: round1(max) },
        targetP95Ms: TARGET_P95_MS,
        reactions: { ...reactions, bursts, countedInBursts: burstReactionsSeen },
        apiCpuPercent: apiCpu.map((c) => c.cpuPercent),
        redisCpuPercent,
        benchCpuPercent,
        engineCpuPercent: enginePercent,
        machineCpuPercent: machinePercent,
        othersCpuPercent: othersPercent,
        benchLoopDelayP99Ms: loopDelayP99Ms,
        loadAverage: load.map(round1),
        cores: os.cpus().length,
        joinSeconds: round1(joinSeconds),
        joinRaces,
        apiErrors,
        liveEnded,
      }),
    );
    return pass ? 0 : 1;
  } finally {
    for (const client of clients) client.close();
    if (presenterSocket && onAirLive)
      await presenterSocket.request('presenter:stop', { liveId: onAirLive }).catch(() => undefined);
    await presenterPeer?.close().catch(() => undefined);
    presenterSocket?.close();
    await Promise.all(apis.map((a) => a.stop().catch(() => undefined)));
    await db.drop().catch((error: Error) => console.error(`could not drop the database: ${error.message}`));
    const leftover = await redis.keys(`${prefix}*`).catch(() => [] as string[]);
    if (leftover.length) await redis.del(...leftover).catch(() => undefined);
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  }
}

process.exit(await main());

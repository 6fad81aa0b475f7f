/**
 * Fan-out benchmark: one live (a ~560 kbps VP8 + Opus clip: --source rtp, the default, has ffmpeg loop it over plain
 * RTP into an RtpEndpoint, the same feed as Janus's (rtpFeed.ts), its CPU apart as each step's `feed`; --source
 * player has a PlayerEndpoint loop it inside the engine, its demuxing counted in the engine's CPU) forwarded by the
 * engine to N synthetic receivers, for N = 1, 10, 50, 100, 200, ... as far as it holds: no loss, every receiver at the source's
 * full rate, every join at the first attempt. The engine runs one media worker per core by default (--workers): the
 * live's viewers spread over every worker, the source reaching the others through the engine's relay. The receivers
 * live in several load-generator processes (--generators, fanoutReceivers.ts): werift peers doing ICE and DTLS that
 * count RTP sequence numbers from the clear SRTP header without decrypting. Each step joins all N receivers at once
 * (signalled like a browser app: offer, answer, trickled candidates), then measures over a window: engine CPU (all
 * engine processes, from /proc), CPU per viewer, each worker's viewers, CPU and RSS, packets lost (from RTP sequence
 * numbers), the rate each receiver got, the time from a receiver's answer to its first media packet (and the medians
 * of its two steps before: ICE connected, DTLS connected), and the load
 * average (the machine is shared: other work skews the figures). Before the ladder, 10 joins one at a time give the
 * set-up latency on an idle engine, and one receiver measures the source's rate.
 *
 * --servers N (default 1) starts N engines (fanoutServers.ts): the source on the first, relayed once to each other one
 * by an RtpEndpoint pair; each step's viewers go round robin over the servers (viewer i on server i mod N), and each
 * step also prints every server's viewers joined, CPU and RSS (all its processes).
 *
 * --janus runs the same ladder again on Janus once the engine has stopped (fanoutJanus.ts: Debian's `janus` with its
 * streaming plugin, configured in a temporary folder, started and stopped by the bench): ffmpeg feeds the same clip
 * to an RTP mountpoint, looped at its own pace and copied without transcoding; the same receivers, in the same
 * load-generator processes, answer the plugin's offers. Each step prints the engine's columns that apply, for the
 * janus process (its CPU from /proc, all threads; ffmpeg's CPU is apart, as feedCPU%), and at the end the engine's CPU
 * per viewer over Janus's at each step both ran.
 *
 * The engine gathers one ICE candidate, as Janus does: ENGINE_ICE_ADDRESS, by default this host's first IPv4 address.
 * To profile: BENCH_ENGINE_ARGS (the engine's main process), ENGINE_WORKER_NODE_FLAGS (its media workers) and
 * BENCH_GENERATOR_ARGS (the load generators) take Node flags such as `--cpu-prof --cpu-prof-dir=/tmp/prof`.
 *
 * Usage: npm run bench:fanout [-- --ladder 1,10,50,100,200 --window 15 --workers 2 --generators 4 --servers 1 --janus
 *   --source rtp|player]
 * Prints a table; the last line is one JSON object
 * {"bench":"fanout","viewersPerCore":...,"workerShare":[...],"rows":[...]} (with --servers 2 and more, also
 * "servers" in it and in each row; with --janus, also "janus":{"version":...,"rows":[...]} and "janusRatio", the
 * engine's CPU per viewer over Janus's at 200 viewers or at the largest step both ran, with "janusRatioViewers").
 */
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import type { ReceiverMessage, ReceiverRequest } from './fanoutReceivers.js';
import { hostAddress, startJanus, type JanusWatch, type OfferedViewer } from './fanoutJanus.js';
import { cpuTicks, rssBytes } from './proc.js';
import { call, cascade, startServers, type BenchServer, type Relay } from './fanoutServers.js';
import { FEED_PAYLOAD_TYPES, feedClip } from './rtpFeed.js';

const { values: args } = parseArgs({
  options: {
    ladder: { type: 'string', default: '1,10,50,100,200,300,400,500,600' },
    window: { type: 'string', default: '15' },
    workers: { type: 'string', default: String(os.availableParallelism()) },
    generators: { type: 'string', default: '4' },
    'join-timeout': { type: 'string', default: '20' },
    servers: { type: 'string', default: '1' },
    janus: { type: 'boolean', default: false },
    source: { type: 'string', default: 'rtp' },
  },
});
const LADDER = args.ladder.split(',').map(Number);
const WINDOW_S = Number(args.window);
const WORKERS = Number(args.workers);
const GENERATORS = Number(args.generators);
const JOIN_TIMEOUT_MS = Number(args['join-timeout']) * 1000;
const SERVERS = Number(args.servers);
const JANUS = args.janus;
if (args.source !== 'rtp' && args.source !== 'player') throw new Error('--source must be rtp or player');
const SOURCE: 'rtp' | 'player' = args.source;
const WARMUP_MS = 3000;
const SINGLE_JOINS = 10;
const RATE_PROBE_MS = 5000;
/** Per load-generator process: past this CPU the next, larger step would measure the receivers, not the engine. */
const GENERATOR_CPU_LIMIT = 90;
const CLK_TCK = 100;
/** Node flags for the engine's main process and for the load generators (e.g. --cpu-prof --cpu-prof-dir=...). */
const ENGINE_ARGS = (process.env.BENCH_ENGINE_ARGS ?? '').split(' ').filter(Boolean);
const GENERATOR_ARGS = (process.env.BENCH_GENERATOR_ARGS ?? '').split(' ').filter(Boolean);

/** What the receivers got over a step's window, the same for the engine and for Janus. */
interface Delivery {
  packetsReceived: number;
  packetsLost: number;
  lossPct: number;
  firstPacketMsP50: number;
  firstPacketMsP95: number;
  firstPacketMsMax: number;
  /** Where the first packet's wait went (median, ms from the answer): ICE connected, then DTLS connected. */
  iceMsP50: number;
  dtlsMsP50: number;
  /** The packets of the receiver that got the fewest, as a share of the median receiver's: below 100 it fell behind. */
  ratePct: number;
  /** The median receiver's packet rate as a share of the source's rate on an idle engine (the player's pacing). */
  sourceRatePct: number;
}

interface Row extends Delivery {
  viewers: number;
  joined: number;
  failedJoins: number;
  engineCpuPct: number;
  cpuPerViewerPct: number;
  engineRssMB: number;
  benchCpuPct: number;
  /** The machine's 1-minute load average at the end of the step (other work on the machine skews the figures). */
  loadAverage: number;
  /** Each media worker: its viewers, CPU (% of a core) and RSS over the step. */
  workers: { name: string; viewers: number; cpuPct: number; rssMB: number }[];
  /** --source rtp: ffmpeg feeding the engine's RtpEndpoint, % of a core (not in the engine's figures). */
  feedCpuPct?: number;
  /** With --servers 2 and more: each server's viewers joined, CPU (% of a core, all its processes) and RSS. */
  servers?: ServerFigures[];
}

/** A step of the ladder on Janus (--janus): the engine's columns that apply, for the janus process. */
interface JanusRow extends Delivery {
  viewers: number;
  joined: number;
  failedJoins: number;
  /** The janus process's CPU, % of a core (all its threads). */
  cpuPct: number;
  cpuPerViewerPct: number;
  rssMB: number;
  benchCpuPct: number;
  /** ffmpeg feeding the mountpoint, % of a core (not in Janus's figures). */
  feedCpuPct: number;
  loadAverage: number;
}

interface ServerFigures {
  name: string;
  viewers: number;
  cpuPct: number;
  rssMB: number;
}

/** One receiver, living in a load-generator process (fanoutReceivers.ts). */
class RemoteViewer implements OfferedViewer {
  static #nextId = 1;
  readonly id = RemoteViewer.#nextId++;
  answeredAt = 0;
  /** Answer to first media packet, in ms (measured by the generator), 0 before. */
  firstPacketMs = 0;
  /** Answer to ICE connected and to DTLS connected, in ms, known with the first packet. */
  iceMs = NaN;
  dtlsMs = NaN;
  #offer: ((sdp: string) => void) | undefined;
  #answer: { resolve: (sdp: string) => void; reject: (error: Error) => void } | undefined;
  #firstPacket!: () => void;
  readonly firstPacket = new Promise<void>((resolve) => (this.#firstPacket = resolve));

  constructor(readonly generator: Generator) {
    generator.viewers.set(this.id, this);
  }

  offer(): Promise<string> {
    return new Promise((resolve) => {
      this.#offer = resolve;
      this.generator.send({ t: 'offer', id: this.id });
    });
  }

  async answer(sdp: string): Promise<void> {
    this.answeredAt = performance.now();
    this.generator.send({ t: 'answer', id: this.id, sdp });
  }

  /** The server made the offer (Janus): the receiver's answer. */
  answerOffer(sdp: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.#answer = { resolve, reject };
      this.generator.send({ t: 'answerOffer', id: this.id, sdp });
    }).then((answer: string) => {
      this.answeredAt = performance.now();
      return answer;
    });
  }

  addCandidate(candidate: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }): void {
    this.generator.send({
      t: 'candidate',
      id: this.id,
      candidate: { candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex },
    });
  }

  onMessage(message: ReceiverMessage): void {
    if (message.t === 'offer') this.#offer?.(message.sdp);
    if (message.t === 'answer') this.#answer?.resolve(message.sdp);
    if (message.t === 'failed') this.#answer?.reject(new Error(message.error));
    if (message.t === 'first') {
      this.firstPacketMs = message.ms;
      this.iceMs = message.iceMs;
      this.dtlsMs = message.dtlsMs;
      this.#firstPacket();
    }
  }

  async close(): Promise<void> {
    this.generator.send({ t: 'close', id: this.id });
    this.generator.viewers.delete(this.id);
  }
}

/** A load-generator process and the receivers it carries. */
class Generator {
  readonly viewers = new Map<number, RemoteViewer>();
  readonly #child: ChildProcess;
  #seq = 0;
  readonly #counts = new Map<number, (counts: Record<number, Counts>) => void>();

  constructor() {
    this.#child = fork(fileURLToPath(new URL('./fanoutReceivers.ts', import.meta.url)), [], {
      execArgv: ['--import', import.meta.resolve('tsx'), ...GENERATOR_ARGS],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (message: ReceiverMessage) => {
      if (message.t === 'counts') {
        this.#counts.get(message.seq)?.(message.counts);
        this.#counts.delete(message.seq);
        return;
      }
      this.viewers.get(message.id)?.onMessage(message);
    });
  }

  get pid(): number {
    return this.#child.pid ?? 0;
  }

  send(request: ReceiverRequest): void {
    if (this.#child.connected) this.#child.send(request);
  }

  counts(): Promise<Record<number, Counts>> {
    const seq = ++this.#seq;
    return new Promise((resolve) => {
      this.#counts.set(seq, resolve);
      this.send({ t: 'counts', seq });
    });
  }

  close(): void {
    this.#child.kill();
  }
}

interface Counts {
  received: number;
  expected: number;
}

/** Counts of every receiver of every generator, by receiver id. */
async function allCounts(generators: Generator[]): Promise<Map<number, Counts>> {
  const out = new Map<number, Counts>();
  for (const counts of await Promise.all(generators.map((g) => g.counts()))) {
    for (const [id, c] of Object.entries(counts)) out.set(Number(id), c);
  }
  return out;
}

/**
 * The live's source in the engine: ffmpeg sending the clip over RTP into an RtpEndpoint (--source rtp: the same feed
 * as Janus's mountpoint, its CPU apart, as a presenter's browser is in production; the endpoint receives as a
 * presenter's does), or a PlayerEndpoint looping the clip inside the engine (--source player: its demuxing and
 * pacing count in the engine's figures). The caller releases the pipeline and kills the feed.
 */
async function startSource(pipeline: any, clip: string): Promise<{ element: any; feed: ChildProcess | null }> {
  if (SOURCE === 'player') {
    const player = await pipeline.create('PlayerEndpoint', { uri: `file://${clip}` });
    player.on('EndOfStream', () => player.play(() => undefined));
    await call((cb) => player.play(cb));
    return { element: player, feed: null };
  }
  const rtp = await pipeline.create('RtpEndpoint');
  // Send-only, from an address the endpoint learns from the first packets (ffmpeg sends from ports of its own).
  const { video, audio } = FEED_PAYLOAD_TYPES;
  const offer = [
    'v=0',
    'o=- 0 0 IN IP4 0.0.0.0',
    's=bench:fanout feed',
    'c=IN IP4 0.0.0.0',
    't=0 0',
    `m=video 9 RTP/AVPF ${video}`,
    `a=rtpmap:${video} VP8/90000`,
    'a=sendonly',
    'a=mid:video0',
    `m=audio 9 RTP/AVPF ${audio}`,
    `a=rtpmap:${audio} opus/48000/2`,
    'a=sendonly',
    'a=mid:audio0',
    '',
  ].join('\r\n');
  const answer = await call<string>((cb) => rtp.processOffer(offer, cb));
  const port = (kind: string) => Number(new RegExp(`^m=${kind} (\\d+) `, 'm').exec(answer)?.[1] ?? NaN);
  const ports = { video: port('video'), audio: port('audio') };
  if (!(ports.video > 0 && ports.audio > 0)) throw new Error(`the RtpEndpoint's answer has no ports:\n${answer}`);
  // Where the endpoint listens (ENGINE_ICE_ADDRESS when set, else this host's first IPv4 address).
  const host = /^c=IN IP4 (\S+)/m.exec(answer)?.[1] ?? '127.0.0.1';
  return { element: rtp, feed: feedClip(clip, ports, (line) => console.error(line), host) };
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  // One host candidate, as Janus has (not also the loopback one the engine adds by default): the same ICE checks
  // per join on both sides. ENGINE_ICE_ADDRESS given in the environment stands.
  process.env.ENGINE_ICE_ADDRESS ||= hostAddress();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'onair-bench-fanout-'));
  const clip = path.join(dir, 'clip.webm');
  await promisify(execFile)('ffmpeg', [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=640x480:rate=20',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-t',
    '20',
    '-c:v',
    'libvpx',
    '-deadline',
    'realtime',
    '-cpu-used',
    '8',
    '-b:v',
    '500k',
    '-minrate',
    '500k',
    '-maxrate',
    '500k',
    '-g',
    '40',
    '-c:a',
    'libopus',
    '-b:a',
    '48k',
    clip,
  ]);
  const servers = await startServers(SERVERS, {
    workers: WORKERS,
    execArgv: ENGINE_ARGS,
    log: (line) => console.error(line),
  });
  // The source's server: the single joins and the rate probe are on it, and the relays start from it.
  const first = servers[0]!;
  const { engine, client } = first;
  const statsUrl = `http://${new URL(engine.uri).host}/stats`;
  const enginePids = () => first.pids();

  if (process.env.BENCH_DEBUG) {
    // Every 5 s: each engine process's RSS and CPU, and what the engine reports.
    let last = new Map<number, number>();
    setInterval(() => void debugSample(), 5000).unref();
    const debugSample = async () => {
      const pids = await enginePids().catch(() => [engine.pid]);
      const parts: string[] = [];
      const now = new Map<number, number>();
      for (const pid of pids) {
        const ticks = await cpuTicks(pid);
        now.set(pid, ticks);
        parts.push(
          `${pid}: ${Math.round((await rssBytes(pid)) / 1e6)}MB ${((ticks - (last.get(pid) ?? ticks)) / 5).toFixed(0)}%`,
        );
      }
      last = now;
      const stats = (await (await fetch(statsUrl)).json().catch(() => ({}))) as {
        objects?: number;
        hosts?: { heapBytes: number; externalBytes: number }[];
      };
      const heap = (stats.hosts ?? []).map(
        (h) => `heap ${Math.round(h.heapBytes / 1e6)}MB ext ${Math.round(h.externalBytes / 1e6)}MB`,
      );
      console.error(`  [sample] ${parts.join(' | ')} objects=${stats.objects} ${heap.join(' ')}`);
    };
  }

  const pipeline = await client.create('MediaPipeline');
  const { element: source, feed } = await startSource(pipeline, clip);
  // The source relayed once to every other server, for the whole ladder.
  const relays: Relay[] = [];
  for (const server of servers.slice(1)) relays.push(await cascade(source, pipeline, server));
  /** Where a server's viewers join: its pipeline and what feeds them there. */
  const placeOn = (server: BenchServer) => relays.find((r) => r.server === server) ?? { pipeline, source };

  const generators = Array.from({ length: GENERATORS }, () => new Generator());
  let nextGenerator = 0;
  const newViewer = () => new RemoteViewer(generators[nextGenerator++ % generators.length]!);
  const hostStats = async () =>
    (
      await Promise.all(
        servers.map(async (server) =>
          (await server.hosts()).map((h) => (SERVERS === 1 ? h : { ...h, name: `${server.name}/${h.name}` })),
        ),
      )
    ).flat();

  /** One receiver joins: endpoint, connect, offer/answer, trickled candidates, first packet (or a failure). */
  const join = async (viewer: RemoteViewer, endpoints: any[], server = first): Promise<boolean> => {
    try {
      const place = placeOn(server);
      const endpoint = await place.pipeline.create('WebRtcEndpoint');
      endpoints.push(endpoint);
      endpoint.on('IceCandidateFound', (event: any) => viewer.addCandidate(event.candidate));
      await call((cb) => place.source.connect(endpoint, cb));
      const offer = await viewer.offer();
      const answer = await call<string>((cb) => endpoint.processOffer(offer, cb));
      await viewer.answer(answer);
      await call((cb) => endpoint.gatherCandidates(cb));
      await Promise.race([
        viewer.firstPacket,
        sleep(JOIN_TIMEOUT_MS).then(() => Promise.reject(new Error('join timed out'))),
      ]);
      return true;
    } catch {
      return false;
    }
  };

  // Joins one at a time: the set-up latency of a viewer on an idle engine.
  const single: number[] = [];
  for (let i = 0; i < SINGLE_JOINS; i++) {
    const viewer = newViewer();
    const endpoints: any[] = [];
    if (await join(viewer, endpoints)) single.push(viewer.firstPacketMs);
    await Promise.all(endpoints.map((e) => call((cb) => e.release(cb)).catch(() => undefined)));
    await viewer.close();
  }
  // The source's packet rate, as one receiver gets it from an idle engine.
  const probe = newViewer();
  const probeEndpoints: any[] = [];
  let sourcePps = NaN;
  if (await join(probe, probeEndpoints)) {
    const before = (await allCounts(generators)).get(probe.id)?.received ?? 0;
    await sleep(RATE_PROBE_MS);
    const after = (await allCounts(generators)).get(probe.id)?.received ?? 0;
    sourcePps = ((after - before) * 1000) / RATE_PROBE_MS;
  }
  await Promise.all(probeEndpoints.map((e) => call((cb) => e.release(cb)).catch(() => undefined)));
  await probe.close();
  console.log(`source: ${round(sourcePps)} packets/s (VP8 + Opus)`);

  const singleJoin = {
    joins: SINGLE_JOINS,
    connected: single.length,
    firstPacketMsP50: round(percentile(single, 50)),
    firstPacketMsMax: round(Math.max(...single)),
  };
  console.log(
    `single joins: ${single.length}/${SINGLE_JOINS} connected, answer to first packet p50 ${singleJoin.firstPacketMsP50} ms, max ${singleJoin.firstPacketMsMax} ms`,
  );

  const rows: Row[] = [];
  console.log(
    (SERVERS === 1 ? '' : `${SERVERS} servers (viewers round robin, source on ${first.name}), `) +
      `${WORKERS} workers${SERVERS === 1 ? '' : ' each'}, ${GENERATORS} load-generator processes, source: ${SOURCE === 'rtp' ? 'ffmpeg over RTP into an RtpEndpoint (feed: its CPU %, apart)' : 'a PlayerEndpoint'}; per worker${SERVERS === 1 ? '' : ' and per server'}: viewers/CPU%/RSS MB\n` +
      'viewers joined failed  engineCPU%  perViewer%  RSS(MB)  received   lost  loss%  first-packet ms p50/p95/max  ICE/DTLS p50  genCPU%  rate%  load  workers' +
      (SERVERS === 1 ? '' : '  | servers'),
  );
  for (const n of LADDER) {
    const viewers: RemoteViewer[] = [];
    const endpoints: any[] = [];
    let failed = 0;
    const joinedOn = servers.map(() => 0);
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const viewer = newViewer();
        viewers.push(viewer);
        if (await join(viewer, endpoints, servers[i % SERVERS])) joinedOn[i % SERVERS]! += 1;
        else failed += 1;
      }),
    );
    await sleep(WARMUP_MS);
    const serverPids = await Promise.all(servers.map((server) => server.pids()));
    const pids = serverPids.flat();
    const genPids = [process.pid, ...generators.map((g) => g.pid)];
    const feedTicks = () => (feed?.pid ? cpuTicks(feed.pid) : Promise.resolve(0));
    const before = {
      ticks: await Promise.all(pids.map(cpuTicks)),
      gen: await Promise.all(genPids.map(cpuTicks)),
      feed: await feedTicks(),
      hosts: await hostStats(),
      counts: await allCounts(generators),
      at: performance.now(),
    };
    await sleep(WINDOW_S * 1000);
    const ticks = await Promise.all(pids.map(cpuTicks));
    const gen = await Promise.all(genPids.map(cpuTicks));
    const feedAfter = await feedTicks();
    const hostsAfter = await hostStats();
    const counts = await allCounts(generators);
    const elapsedS = (performance.now() - before.at) / 1000;
    const delivered = delivery(viewers, before.counts, counts, elapsedS, sourcePps);
    const engineCpuPct = (100 * (sum(ticks) - sum(before.ticks))) / CLK_TCK / elapsedS;
    const rssOf = await Promise.all(pids.map(rssBytes));
    const rss = sum(rssOf);
    const workers = hostsAfter.map((h) => {
      const b = before.hosts.find((x) => x.pid === h.pid);
      return {
        name: h.name,
        viewers: h.webRtcEndpoints,
        cpuPct: round(b ? (100 * (h.cpuMicros - b.cpuMicros)) / 1e6 / elapsedS : NaN),
        rssMB: round(h.rssBytes / 1024 / 1024),
      };
    });
    const row: Row = {
      viewers: n,
      joined: n - failed,
      failedJoins: failed,
      engineCpuPct: round(engineCpuPct),
      cpuPerViewerPct: round(engineCpuPct / n, 3),
      engineRssMB: round(rss / 1024 / 1024),
      ...delivered,
      benchCpuPct: round((100 * (sum(gen) - sum(before.gen))) / CLK_TCK / elapsedS),
      loadAverage: round(os.loadavg()[0]!, 2),
      workers,
      ...(feed ? { feedCpuPct: round((100 * (feedAfter - before.feed)) / CLK_TCK / elapsedS) } : {}),
    };
    if (SERVERS > 1) {
      let at = 0;
      row.servers = servers.map((server, s) => {
        const slice = (values: number[]) => values.slice(at, at + serverPids[s]!.length);
        const figures = {
          name: server.name,
          viewers: joinedOn[s]!,
          cpuPct: round((100 * (sum(slice(ticks)) - sum(slice(before.ticks)))) / CLK_TCK / elapsedS),
          rssMB: round(sum(slice(rssOf)) / 1024 / 1024),
        };
        at += serverPids[s]!.length;
        return figures;
      });
    }
    rows.push(row);
    console.log(
      [
        ...stepColumns(row, row.engineCpuPct, row.engineRssMB),
        ' ' + workers.map((w) => `${w.name} ${w.viewers}/${w.cpuPct}/${w.rssMB}`).join('  '),
        ...(row.feedCpuPct === undefined ? [] : [`  feed ${row.feedCpuPct}`]),
        ...(row.servers
          ? [' |', row.servers.map((v) => `${v.name} ${v.viewers}/${v.cpuPct}/${v.rssMB}`).join('  ')]
          : []),
      ].join(' '),
    );
    await Promise.all(endpoints.map((e) => call((cb) => e.release(cb)).catch(() => undefined)));
    await Promise.all(viewers.map((v) => v.close().catch(() => undefined)));
    await sleep(1000);
    // Beyond this the figures are not the engine's: it lost media, a join failed, or the cores are saturated.
    if (
      !isValid(row) ||
      row.engineCpuPct > 95 * WORKERS * SERVERS ||
      row.benchCpuPct > GENERATOR_CPU_LIMIT * GENERATORS
    )
      break;
  }

  for (const relay of relays) await relay.release();
  feed?.kill();
  await call((cb) => pipeline.release(cb)).catch(() => undefined);
  const pipelinesLeft = await Promise.all(servers.map((server) => server.pipelines().catch(() => NaN)));
  if (SERVERS > 1)
    console.log(`pipelines held at the end: ${pipelinesLeft.join(', ')} (${servers.map((v) => v.name).join(', ')})`);
  else if (pipelinesLeft[0] !== 0) console.error(`[bench] the engine still holds ${pipelinesLeft[0]} pipelines`);
  for (const server of servers) await server.stop();
  // Janus after the engine is gone, with the same clip and the same receivers.
  let janus: { version: string; rows: JanusRow[] } | { error: string } | undefined;
  try {
    if (JANUS) janus = await janusLadder(clip, generators, newViewer, sourcePps);
  } catch (error) {
    console.error(`[bench] Janus: ${(error as Error).message}`);
    janus = { error: (error as Error).message.split('\n')[0]! };
  } finally {
    for (const generator of generators) generator.close();
    await rm(dir, { recursive: true, force: true });
  }

  // Viewers per core from the largest step where every join succeeded at the first attempt, nothing was lost
  // and every receiver got the source's full rate.
  const valid = rows.filter(isValid);
  const best = valid.at(-1);
  const viewersPerCore = best ? Math.round(100 / best.cpuPerViewerPct) : 0;
  const workerShare = (best?.workers ?? []).map((w) => ({
    name: w.name,
    viewers: w.viewers,
    sharePct: round((100 * w.viewers) / Math.max(1, best?.viewers ?? 1)),
    cpuPct: w.cpuPct,
  }));
  console.log(
    `viewers per core: ${viewersPerCore} (at ${best?.viewers ?? 0} viewers, ${best?.cpuPerViewerPct ?? '-'} % of a core each: full rate, no loss, all joined at the first attempt); ` +
      `workers: ${workerShare.map((w) => `${w.name} ${w.sharePct} % of the viewers`).join(', ')}; ` +
      (best?.servers
        ? `servers: ${best.servers.map((v) => `${v.name} ${v.viewers} viewers, ${v.cpuPct} % CPU, ${v.rssMB} MB`).join(', ')}; `
        : '') +
      `load average ${round(os.loadavg()[0]!, 2)}`,
  );
  console.log(
    JSON.stringify({
      bench: 'fanout',
      viewersPerCore,
      atViewers: best?.viewers ?? 0,
      workers: WORKERS,
      workerShare,
      source: SOURCE,
      sourcePps: round(sourcePps),
      singleJoin,
      machineCores: os.availableParallelism(),
      loadAverage: os.loadavg().map((l) => round(l, 2)),
      windowSeconds: WINDOW_S,
      ...(SERVERS > 1 ? { servers: best?.servers ?? [] } : {}),
      rows,
      ...(janus ? { janus, ...janusRatio(rows, janus) } : {}),
    }),
  );
}

/** --janus: the ladder again on Janus (fanoutJanus.ts), the same receivers answering its streaming plugin's offers. */
async function janusLadder(
  clip: string,
  generators: Generator[],
  newViewer: () => RemoteViewer,
  sourcePps: number,
): Promise<{ version: string; rows: JanusRow[] }> {
  const janus = await startJanus(clip, (line) => console.error(line));
  const rows: JanusRow[] = [];
  try {
    console.log(
      `Janus ${janus.version} (streaming plugin, pid ${janus.pid}), fed by ffmpeg; ${GENERATORS} load-generator processes\n` +
        'viewers joined failed   janusCPU%  perViewer%  RSS(MB)  received   lost  loss%  first-packet ms p50/p95/max  ICE/DTLS p50  genCPU%  rate%  load  feedCPU%',
    );
    for (const n of LADDER) {
      const viewers: RemoteViewer[] = [];
      const watches: JanusWatch[] = [];
      const errors = new Set<string>();
      let failed = 0;
      await Promise.all(
        Array.from({ length: n }, async () => {
          const viewer = newViewer();
          viewers.push(viewer);
          try {
            watches.push(await janus.watch(viewer));
            await Promise.race([
              viewer.firstPacket,
              sleep(JOIN_TIMEOUT_MS).then(() => Promise.reject(new Error('join timed out'))),
            ]);
          } catch (error) {
            failed += 1;
            errors.add((error as Error).message);
          }
        }),
      );
      if (failed) console.error(`[bench] Janus: ${failed} joins failed: ${[...errors].join('; ')}`);
      await sleep(WARMUP_MS);
      const pids = [janus.pid, janus.feedPid, process.pid, ...generators.map((g) => g.pid)];
      const before = {
        ticks: await Promise.all(pids.map(cpuTicks)),
        counts: await allCounts(generators),
        at: performance.now(),
      };
      await sleep(WINDOW_S * 1000);
      const ticks = await Promise.all(pids.map(cpuTicks));
      const counts = await allCounts(generators);
      const elapsedS = (performance.now() - before.at) / 1000;
      const cpuPct = (from: number, to = from + 1) =>
        (100 * (sum(ticks.slice(from, to)) - sum(before.ticks.slice(from, to)))) / CLK_TCK / elapsedS;
      const delivered = delivery(viewers, before.counts, counts, elapsedS, sourcePps);
      const row: JanusRow = {
        viewers: n,
        joined: n - failed,
        failedJoins: failed,
        cpuPct: round(cpuPct(0)),
        cpuPerViewerPct: round(cpuPct(0) / n, 3),
        rssMB: round((await rssBytes(janus.pid)) / 1024 / 1024),
        ...delivered,
        benchCpuPct: round(cpuPct(2, pids.length)),
        feedCpuPct: round(cpuPct(1)),
        loadAverage: round(os.loadavg()[0]!, 2),
      };
      rows.push(row);
      console.log([...stepColumns(row, row.cpuPct, row.rssMB), pad(row.feedCpuPct, 9)].join(' '));
      await Promise.all(watches.map((w) => w.release()));
      await Promise.all(viewers.map((v) => v.close()));
      await sleep(1000);
      // As for the engine: beyond this the figures are not Janus's.
      if (
        !isValid(row) ||
        row.cpuPct > 95 * os.availableParallelism() ||
        row.benchCpuPct > GENERATOR_CPU_LIMIT * GENERATORS
      )
        break;
    }
  } catch (error) {
    console.error(`[bench] Janus's log, its end:\n${await janus.logTail()}`);
    throw error;
  } finally {
    await janus.stop();
  }
  return { version: janus.version, rows };
}

/**
 * The engine's CPU per viewer over Janus's at each step both ran, printed; in the JSON line, the one at 200 viewers
 * (or at the largest step both ran).
 */
function janusRatio(
  rows: Row[],
  janus: { rows: JanusRow[] } | { error: string },
): { janusRatio?: number; janusRatioViewers?: number } {
  if (!('rows' in janus)) return {};
  const common = rows.flatMap((engine) => {
    const other = janus.rows.find((j) => j.viewers === engine.viewers);
    return other ? [{ viewers: engine.viewers, engine, janus: other }] : [];
  });
  for (const { viewers, engine, janus: other } of common)
    console.log(
      `engine/Janus CPU per viewer at ${viewers} viewers: ${engine.cpuPerViewerPct} / ${other.cpuPerViewerPct} % = ` +
        `${round(engine.cpuPerViewerPct / other.cpuPerViewerPct, 2)}` +
        (isValid(engine) && isValid(other) ? '' : ' (a step that lost media or joins: not a fair comparison)'),
    );
  const at = common.find((c) => c.viewers === 200) ?? common.at(-1);
  return at
    ? { janusRatio: round(at.engine.cpuPerViewerPct / at.janus.cpuPerViewerPct, 2), janusRatioViewers: at.viewers }
    : {};
}

/**
 * What the receivers got over a window, from the generators' counts at its ends: packets received and lost, the
 * first packets' delays, and each receiver's rate against the median's and the source's.
 */
function delivery(
  viewers: RemoteViewer[],
  before: Map<number, Counts>,
  after: Map<number, Counts>,
  elapsedS: number,
  sourcePps: number,
): Delivery {
  let received = 0;
  let expected = 0;
  const perViewer: number[] = [];
  for (const viewer of viewers) {
    const c = after.get(viewer.id);
    const b = before.get(viewer.id);
    if (!c || !b) continue;
    received += c.received - b.received;
    expected += c.expected - b.expected;
    perViewer.push(c.received - b.received);
  }
  // The player paces by the wall clock and catches up after a stall of its worker (a busy machine): the rate the
  // source had in the window is the median receiver's; every receiver should have had it.
  const medianReceived = percentile(perViewer, 50);
  const joined = viewers.filter((v) => v.firstPacketMs);
  const firsts = joined.map((v) => v.firstPacketMs);
  const lost = Math.max(0, expected - received);
  return {
    packetsReceived: received,
    packetsLost: lost,
    lossPct: round((100 * lost) / Math.max(1, expected), 3),
    firstPacketMsP50: round(percentile(firsts, 50)),
    firstPacketMsP95: round(percentile(firsts, 95)),
    firstPacketMsMax: round(Math.max(...firsts)),
    iceMsP50: round(percentile(joined.map((v) => v.iceMs).filter(Number.isFinite), 50)),
    dtlsMsP50: round(percentile(joined.map((v) => v.dtlsMs).filter(Number.isFinite), 50)),
    ratePct: round((100 * Math.min(...perViewer)) / Math.max(1, medianReceived)),
    sourceRatePct: round((100 * medianReceived) / elapsedS / sourcePps),
  };
}

/** A step's printed columns that the engine's and Janus's tables share (`cpuPct`, `rssMB`: the server's). */
function stepColumns(
  row: Delivery & Pick<Row, 'viewers' | 'joined' | 'failedJoins' | 'cpuPerViewerPct' | 'benchCpuPct' | 'loadAverage'>,
  cpuPct: number,
  rssMB: number,
): string[] {
  return [
    pad(row.viewers, 7),
    pad(row.joined, 6),
    pad(row.failedJoins, 6),
    pad(cpuPct, 11),
    pad(row.cpuPerViewerPct, 11),
    pad(rssMB, 8),
    pad(row.packetsReceived, 9),
    pad(row.packetsLost, 6),
    pad(row.lossPct, 6),
    pad(`${row.firstPacketMsP50}/${row.firstPacketMsP95}/${row.firstPacketMsMax}`, 28),
    pad(`${row.iceMsP50}/${row.dtlsMsP50}`, 13),
    pad(row.benchCpuPct, 8),
    pad(row.ratePct, 6),
    pad(row.loadAverage, 5),
  ];
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** A step that says something about the engine: all joined at the first attempt, nothing lost, full rate. */
function isValid(row: Pick<Row, 'failedJoins' | 'lossPct' | 'ratePct'>): boolean {
  return row.failedJoins === 0 && row.lossPct === 0 && row.ratePct >= 97;
}

function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function pad(value: unknown, width: number): string {
  return String(value).padStart(width);
}

await main();
process.exit(0);

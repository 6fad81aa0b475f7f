/**
 * Fan-out benchmark: one source (a PlayerEndpoint looping a ~560 kbps VP8 + Opus clip) forwarded by
 * the engine to N synthetic receivers (werift peers doing ICE, DTLS and SRTP, no decoding, all in
 * this process), for N = 1, 10, 50, 100, 200, ... as far as it holds: no loss, every receiver at the
 * source's full rate, every join at the first attempt, the engine under one core, the receivers
 * under 90 % of one. Each step joins all N receivers at once (signalled like a browser app: offer,
 * answer, trickled candidates), then measures over a window: engine CPU (all engine processes, from
 * /proc), CPU per viewer, RSS, packets lost (from RTP sequence numbers), the rate each receiver got,
 * and the time from a receiver's answer to its first media packet. Before the ladder, 10 joins one
 * at a time give the set-up latency on an idle engine, and one receiver measures the source's rate.
 *
 * Usage: npm run bench:fanout [-- --ladder 1,10,50,100,200 --window 15 --workers 1]
 * Prints a table; the last line is one JSON object {"bench":"fanout","viewersPerCore":...,"rows":[...]}.
 */
import { execFile } from 'node:child_process';
import type { Socket } from 'node:dgram';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs, promisify } from 'node:util';
import kurento from 'kurento-client';
import { RTCPeerConnection, RTCRtpCodecParameters, type RtpPacket } from 'werift';
import { spawnEngine } from '../media/engine/spawn.js';

const { values: args } = parseArgs({
  options: {
    ladder: { type: 'string', default: '1,10,50,100,200,300,400,500,600' },
    window: { type: 'string', default: '15' },
    workers: { type: 'string', default: '1' },
    'join-timeout': { type: 'string', default: '20' },
  },
});
const LADDER = args.ladder.split(',').map(Number);
const WINDOW_S = Number(args.window);
const JOIN_TIMEOUT_MS = Number(args['join-timeout']) * 1000;
const WARMUP_MS = 3000;
const SINGLE_JOINS = 10;
const RATE_PROBE_MS = 5000;
/** The synthetic receivers run in this process: past this CPU the next, larger step would measure them, not the engine. */
const GENERATOR_CPU_LIMIT = 90;
const CLK_TCK = 100;
const RECEIVE_BUFFER_BYTES = 2 * 1024 * 1024;

interface Row {
  viewers: number;
  joined: number;
  failedJoins: number;
  engineCpuPct: number;
  cpuPerViewerPct: number;
  engineRssMB: number;
  packetsReceived: number;
  packetsLost: number;
  lossPct: number;
  firstPacketMsP50: number;
  firstPacketMsP95: number;
  firstPacketMsMax: number;
  benchCpuPct: number;
  /** Packets each receiver got per second, as a share of the source's rate: below 100 the engine fell behind. */
  ratePct: number;
}

/** A receiver: a werift peer that offers recvonly audio+video and counts what arrives per SSRC. */
class SyntheticViewer {
  readonly pc = new RTCPeerConnection({
    iceServers: [],
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
    codecs: {
      audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48_000, channels: 2 })],
      video: [
        new RTCRtpCodecParameters({
          mimeType: 'video/VP8',
          clockRate: 90_000,
          rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
        }),
      ],
    },
  });
  readonly streams = new Map<number, { first: number; highest: number; cycles: number; received: number }>();
  answeredAt = 0;
  firstPacketAt = 0;
  iceConnectedAt = 0;
  dtlsConnectedAt = 0;
  #firstPacket!: () => void;
  readonly firstPacket = new Promise<void>((resolve) => (this.#firstPacket = resolve));

  async offer(): Promise<string> {
    this.pc.iceConnectionStateChange.subscribe((state) => {
      if (state === 'connected' && !this.iceConnectedAt) this.iceConnectedAt = performance.now();
    });
    this.pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected' && !this.dtlsConnectedAt) this.dtlsConnectedAt = performance.now();
    });
    this.pc
      .addTransceiver('audio', { direction: 'recvonly' })
      .onTrack.subscribe((track) => track.onReceiveRtp.subscribe((p) => this.#count(p)));
    this.pc
      .addTransceiver('video', { direction: 'recvonly' })
      .onTrack.subscribe((track) => track.onReceiveRtp.subscribe((p) => this.#count(p)));
    // Like a browser without STUN: no server-reflexive gathering (werift would query a public default).
    for (const transport of this.pc.iceTransports) transport.connection.stunServer = undefined;
    await this.pc.setLocalDescription(await this.pc.createOffer());
    // Deep socket buffers, as a browser has: a receiver process busy with 200 peers must not drop at the socket.
    for (const transport of this.pc.iceTransports) {
      const { protocols } = transport.connection as unknown as { protocols: { transport?: { socket?: Socket } }[] };
      for (const protocol of protocols) {
        protocol.transport?.socket?.setRecvBufferSize(RECEIVE_BUFFER_BYTES);
      }
    }
    return this.pc.localDescription!.sdp;
  }

  async answer(sdp: string): Promise<void> {
    this.answeredAt = performance.now();
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
  }

  /** A trickled engine candidate (queued by werift until the answer is set). */
  addCandidate(candidate: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }): void {
    this.pc
      .addIceCandidate({
        candidate: candidate.candidate,
        sdpMid: candidate.sdpMid,
        sdpMLineIndex: candidate.sdpMLineIndex,
      })
      .catch(() => undefined);
  }

  /** Received and expected packet counts so far (expected from the sequence number range). */
  counts(): { received: number; expected: number } {
    let received = 0;
    let expected = 0;
    for (const s of this.streams.values()) {
      received += s.received;
      expected += s.cycles * 65536 + s.highest - s.first + 1;
    }
    return { received, expected };
  }

  #count(packet: RtpPacket): void {
    const { ssrc, sequenceNumber } = packet.header;
    if (!this.firstPacketAt) {
      this.firstPacketAt = performance.now();
      this.#firstPacket();
    }
    const s = this.streams.get(ssrc);
    if (!s)
      return void this.streams.set(ssrc, { first: sequenceNumber, highest: sequenceNumber, cycles: 0, received: 1 });
    s.received += 1;
    const delta = (sequenceNumber - s.highest) & 0xffff;
    if (delta > 0 && delta < 0x8000) {
      if (sequenceNumber < s.highest) s.cycles += 1;
      s.highest = sequenceNumber;
    }
  }

  close(): Promise<void> {
    return this.pc.close();
  }
}

async function procCpuTicks(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

async function procRssBytes(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const call = <T = unknown>(fn: (cb: (err: any, value: T) => void) => void) =>
  new Promise<T>((resolve, reject) =>
    fn((err, value) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(value))),
  );

async function main(): Promise<void> {
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
    '60',
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
  const engine = await spawnEngine({
    port: 0,
    workers: Number(args.workers),
    execArgv: process.env.BENCH_ENGINE_ARGS ? process.env.BENCH_ENGINE_ARGS.split(' ') : [],
    onLog: (line) => console.error('[engine]', line),
  });
  const client: any = await kurento(engine.uri, { socket: { objectMode: true } });
  client._re?.on('error', () => undefined);
  const statsUrl = `http://${new URL(engine.uri).host}/stats`;
  const enginePids = async () => {
    const stats = (await (await fetch(statsUrl)).json()) as { hosts: { pid: number }[] };
    return [engine.pid, ...stats.hosts.map((h) => h.pid).filter((pid) => pid !== engine.pid)];
  };

  if (process.env.BENCH_DEBUG) {
    // Every 5 s: each engine process's RSS and CPU, and what the engine reports.
    let last = new Map<number, number>();
    setInterval(() => void debugSample(), 5000).unref();
    const debugSample = async () => {
      const pids = await enginePids().catch(() => [engine.pid]);
      const parts: string[] = [];
      const now = new Map<number, number>();
      for (const pid of pids) {
        const ticks = await procCpuTicks(pid);
        now.set(pid, ticks);
        parts.push(
          `${pid}: ${Math.round((await procRssBytes(pid)) / 1e6)}MB ${((ticks - (last.get(pid) ?? ticks)) / 5).toFixed(0)}%`,
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
  const player = await pipeline.create('PlayerEndpoint', { uri: `file://${clip}` });
  player.on('EndOfStream', () => player.play(() => undefined));
  await call((cb) => player.play(cb));

  /** One receiver joins: endpoint, connect, offer/answer, trickled candidates, first packet (or a failure). */
  const join = async (viewer: SyntheticViewer, endpoints: any[]): Promise<boolean> => {
    try {
      const endpoint = await pipeline.create('WebRtcEndpoint');
      endpoints.push(endpoint);
      endpoint.on('IceCandidateFound', (event: any) => viewer.addCandidate(event.candidate));
      await call((cb) => player.connect(endpoint, cb));
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
    const viewer = new SyntheticViewer();
    const endpoints: any[] = [];
    if (await join(viewer, endpoints)) single.push(viewer.firstPacketAt - viewer.answeredAt);
    await Promise.all(endpoints.map((e) => call((cb) => e.release(cb)).catch(() => undefined)));
    await viewer.close();
  }
  // The source's packet rate, as one receiver gets it from an idle engine.
  const probe = new SyntheticViewer();
  const probeEndpoints: any[] = [];
  let sourcePps = NaN;
  if (await join(probe, probeEndpoints)) {
    const before = probe.counts().received;
    await sleep(RATE_PROBE_MS);
    sourcePps = ((probe.counts().received - before) * 1000) / RATE_PROBE_MS;
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
    'viewers joined failed  engineCPU%  perViewer%  RSS(MB)  received   lost  loss%  first-packet ms p50/p95/max  benchCPU%  rate%',
  );
  for (const n of LADDER) {
    const viewers: SyntheticViewer[] = [];
    const endpoints: any[] = [];
    let failed = 0;
    await Promise.all(
      Array.from({ length: n }, async () => {
        const viewer = new SyntheticViewer();
        viewers.push(viewer);
        if (!(await join(viewer, endpoints))) failed += 1;
      }),
    );
    if (process.env.BENCH_DEBUG) {
      const phase = (f: (v: SyntheticViewer) => number) => {
        const xs = viewers.filter((v) => v.answeredAt && f(v)).map((v) => f(v) - v.answeredAt);
        return `p50 ${round(percentile(xs, 50))} p95 ${round(percentile(xs, 95))} max ${round(Math.max(...xs))} (${xs.length})`;
      };
      console.error(
        `  ice ${phase((v) => v.iceConnectedAt)} | dtls ${phase((v) => v.dtlsConnectedAt)} | first ${phase((v) => v.firstPacketAt)}`,
      );
    }
    await sleep(WARMUP_MS);
    const pids = await enginePids();
    const before = {
      ticks: await Promise.all(pids.map(procCpuTicks)),
      bench: process.cpuUsage(),
      counts: viewers.map((v) => v.counts()),
      at: performance.now(),
    };
    await sleep(WINDOW_S * 1000);
    const ticks = await Promise.all(pids.map(procCpuTicks));
    const bench = process.cpuUsage(before.bench);
    const elapsedS = (performance.now() - before.at) / 1000;
    const counts = viewers.map((v) => v.counts());
    let received = 0;
    let expected = 0;
    counts.forEach((c, i) => {
      received += c.received - before.counts[i]!.received;
      expected += c.expected - before.counts[i]!.expected;
    });
    if (process.env.BENCH_DEBUG) {
      const lossy = counts
        .map((c, i) => c.expected - before.counts[i]!.expected - (c.received - before.counts[i]!.received))
        .filter((l) => l > 0);
      console.error(
        `  viewers with loss: ${lossy.length}, worst ${Math.max(0, ...lossy)}; streams per viewer: ${viewers
          .map((v) => v.streams.size)
          .join(',')
          .slice(0, 80)}`,
      );
    }
    const engineCpuPct =
      (100 * (ticks.reduce((a, b) => a + b, 0) - before.ticks.reduce((a, b) => a + b, 0))) / CLK_TCK / elapsedS;
    const firsts = viewers.filter((v) => v.firstPacketAt).map((v) => v.firstPacketAt - v.answeredAt);
    const rss = (await Promise.all(pids.map(procRssBytes))).reduce((a, b) => a + b, 0);
    const row: Row = {
      viewers: n,
      joined: n - failed,
      failedJoins: failed,
      engineCpuPct: round(engineCpuPct),
      cpuPerViewerPct: round(engineCpuPct / n, 3),
      engineRssMB: round(rss / 1024 / 1024),
      packetsReceived: received,
      packetsLost: Math.max(0, expected - received),
      lossPct: round((100 * Math.max(0, expected - received)) / Math.max(1, expected), 3),
      firstPacketMsP50: round(percentile(firsts, 50)),
      firstPacketMsP95: round(percentile(firsts, 95)),
      firstPacketMsMax: round(Math.max(...firsts)),
      benchCpuPct: round((100 * (bench.user + bench.system)) / 1e6 / elapsedS),
      ratePct: round((100 * received) / Math.max(1, n - failed) / elapsedS / sourcePps),
    };
    rows.push(row);
    console.log(
      [
        pad(row.viewers, 7),
        pad(row.joined, 6),
        pad(row.failedJoins, 6),
        pad(row.engineCpuPct, 11),
        pad(row.cpuPerViewerPct, 11),
        pad(row.engineRssMB, 8),
        pad(row.packetsReceived, 9),
        pad(row.packetsLost, 6),
        pad(row.lossPct, 6),
        pad(`${row.firstPacketMsP50}/${row.firstPacketMsP95}/${row.firstPacketMsMax}`, 28),
        pad(row.benchCpuPct, 10),
        pad(row.ratePct, 6),
      ].join(' '),
    );
    await Promise.all(endpoints.map((e) => call((cb) => e.release(cb)).catch(() => undefined)));
    await Promise.all(viewers.map((v) => v.close().catch(() => undefined)));
    await sleep(1000);
    // Beyond this the figures are not the engine's: it lost media, a join failed, or a core is saturated.
    if (!isValid(row) || row.engineCpuPct > 95 || row.benchCpuPct > GENERATOR_CPU_LIMIT) break;
  }

  await call((cb) => pipeline.release(cb)).catch(() => undefined);
  client.close();
  await engine.stop();
  await rm(dir, { recursive: true, force: true });

  // Viewers per core from the largest step where every join succeeded at the first attempt, nothing was lost
  // and every receiver got the source's full rate.
  const valid = rows.filter(isValid);
  const best = valid.at(-1);
  const viewersPerCore = best ? Math.round(100 / best.cpuPerViewerPct) : 0;
  console.log(
    `viewers per core: ${viewersPerCore} (at ${best?.viewers ?? 0} viewers, ${best?.cpuPerViewerPct ?? '-'} % of a core each: full rate, no loss, all joined at the first attempt)`,
  );
  console.log(
    JSON.stringify({
      bench: 'fanout',
      viewersPerCore,
      atViewers: best?.viewers ?? 0,
      sourcePps: round(sourcePps),
      singleJoin,
      machineCores: os.availableParallelism(),
      windowSeconds: WINDOW_S,
      rows,
    }),
  );
}

/** A step that says something about the engine: all joined at the first attempt, nothing lost, full rate. */
function isValid(row: Row): boolean {
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

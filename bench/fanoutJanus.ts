/**
 * bench:fanout --janus: Janus (Debian's `janus`, 1.1.x) beside the engine, carrying the same clip to the same
 * receivers. startJanus() writes Janus's configuration into a temporary folder of its own (`-F`; the plugins and
 * transports from Debian's folders): only the streaming plugin and the HTTP transport (on a free loopback port), no
 * session timeout, half-trickle, no STUN, and one RTP mountpoint (VP8 pt 96 and Opus pt 111 on two free UDP ports).
 * Janus's ICE (libnice) gathers no loopback candidates, whatever ice_enforce_list says ("lo" and "127.0.0.1" both
 * give the other interfaces' addresses): its one candidate is this host's own first IPv4 address (ice_enforce_list),
 * which the kernel delivers locally through the loopback device as it does 127.0.0.1 (`ip route get` says "local ...
 * dev lo"), so the receivers reach it without any network. ffmpeg feeds it the clip over RTP as it feeds the
 * engine's RtpEndpoint (rtpFeed.ts: looped, at its own pace, copied, packets of at most 1212 bytes). Each viewer is a
 * handle of one Janus session: `watch` gets the plugin's offer (with Janus's candidates in it), the receiver answers
 * it (with its own) and `start` sends that answer. stop()
 * ends ffmpeg and Janus and removes the folder; a failed start does the same.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import dgram from 'node:dgram';
import { rmSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../media/engine/spawn.js';
import { FEED_PAYLOAD_TYPES, feedClip } from './rtpFeed.js';

const JANUS_LIBS = '/usr/lib/x86_64-linux-gnu/janus';
const MOUNTPOINT = 1;
const { video: VIDEO_PT, audio: AUDIO_PT } = FEED_PAYLOAD_TYPES;
const READY_TIMEOUT_MS = 10_000;
/** How long a viewer waits for the plugin's offer after `watch`. */
const OFFER_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5000;
/** Debian's plugins and transports other than the streaming plugin and the HTTP transport: not loaded. */
const OTHER_PLUGINS = [
  'audiobridge',
  'duktape',
  'echotest',
  'lua',
  'nosip',
  'recordplay',
  'sip',
  'textroom',
  'videocall',
  'videoroom',
  'voicemail',
];
const OTHER_TRANSPORTS = ['mqtt', 'nanomsg', 'pfunix', 'rabbitmq', 'websockets'];
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** How many events one long poll of the session may bring back at once. */
const MAX_EVENTS = 50;

/** A receiver that answers the server's offer (fanoutReceivers.ts's 'answerOffer'). */
export interface OfferedViewer {
  answerOffer(offer: string): Promise<string>;
}

/** A viewer's place on Janus: its handle, detached by release(). */
export interface JanusWatch {
  release(): Promise<void>;
}

export interface JanusServer {
  /** Janus's version, from its log. */
  readonly version: string;
  /** The janus process (its CPU and RSS are Janus's figures). */
  readonly pid: number;
  /** The ffmpeg process feeding the mountpoint (outside Janus's figures, as a browser presenter is outside the engine's). */
  readonly feedPid: number;
  /** A handle on the mountpoint, the plugin's offer answered by the viewer and started; throws on an error from Janus. */
  watch(viewer: OfferedViewer): Promise<JanusWatch>;
  /** The end of Janus's log, for a report when something fails. */
  logTail(lines?: number): Promise<string>;
  stop(): Promise<void>;
}

interface JanusMessage {
  janus: string;
  transaction?: string;
  sender?: number;
  data?: { id?: number };
  error?: { code: number; reason: string };
  plugindata?: { data?: { error?: string; error_code?: number } };
  jsep?: { type: string; sdp: string };
}

/** Starts Janus with its streaming mountpoint fed the clip; every process and the folder go on failure or stop(). */
export async function startJanus(clip: string, log: (line: string) => void): Promise<JanusServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'onair-bench-janus-'));
  const children: ChildProcess[] = [];
  const logFile = path.join(dir, 'janus.log');
  const polling = new AbortController();
  let session = 0;
  let base = '';
  let stopped = false;
  /** The events of each handle not yet taken, and who waits for the next one. */
  const events = new Map<number, { queue: JanusMessage[]; waiter?: (event: JanusMessage) => void }>();

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    polling.abort();
    if (session) await post(`${base}/${session}`, { janus: 'destroy' }).catch(() => undefined);
    for (const child of children.reverse()) await end(child);
    process.off('exit', killAll);
    for (const signal of SIGNALS) process.off(signal, onSignal);
    await rm(dir, { recursive: true, force: true });
  };
  // If the bench dies before stop() (an exception, or a signal: then killed again by it), its children and the
  // folder do not outlive it.
  const killAll = () => {
    children.forEach((child) => child.kill('SIGKILL'));
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    killAll();
    process.kill(process.pid, signal);
  };
  process.on('exit', killAll);
  for (const signal of SIGNALS) process.once(signal, onSignal);

  try {
    const httpPort = await freePort();
    const [videoPort, audioPort] = [await freeUdpPort(), await freeUdpPort()];
    await writeConfig(dir, { httpPort, videoPort, audioPort, iceAddress: hostAddress() });
    // Janus writes its log into the folder itself (the file is its own once spawned).
    const out = await open(logFile, 'w');
    const janus = spawn('janus', ['-F', dir, '-C', path.join(dir, 'janus.jcfg'), '-o'], {
      stdio: ['ignore', out.fd, out.fd],
    });
    await out.close();
    children.push(janus);
    const exited = new Promise<never>((_, reject) => {
      janus.once('error', reject);
      janus.once('exit', (code, signal) => {
        if (!stopped) reject(new Error(`janus exited (${signal ?? code}) before it was stopped`));
      });
    });
    exited.catch(() => undefined);
    base = `http://127.0.0.1:${httpPort}/janus`;

    // Ready once its HTTP API answers.
    const deadline = performance.now() + READY_TIMEOUT_MS;
    for (;;) {
      const info = await Promise.race([
        fetch(`${base}/info`).then(
          (r) => r.ok,
          () => false,
        ),
        exited,
      ]);
      if (info) break;
      if (performance.now() > deadline)
        throw new Error(`janus did not answer on ${base} within ${READY_TIMEOUT_MS} ms`);
      await sleep(100);
    }

    const feed = feedClip(clip, { video: videoPort, audio: audioPort }, log);
    children.push(feed);
    feed.once('exit', (code, signal) => {
      if (!stopped) log(`[bench] ffmpeg feeding Janus exited (${signal ?? code})`);
    });

    session = (await post(base, { janus: 'create' })).data!.id!;
    void longPoll();

    const version = /Janus \(WebRTC Server\) v(\S+)/.exec(await readFile(logFile, 'utf8'))?.[1] ?? '?';
    const janusPid = janus.pid!;
    const feedPid = feed.pid!;
    return {
      version,
      pid: janusPid,
      feedPid,
      async watch(viewer) {
        const handle = (await post(`${base}/${session}`, { janus: 'attach', plugin: 'janus.plugin.streaming' })).data!
          .id!;
        events.set(handle, { queue: [] });
        const url = `${base}/${session}/${handle}`;
        const watch = { release: () => detach(url, handle) };
        try {
          await post(url, { janus: 'message', body: { request: 'watch', id: MOUNTPOINT } });
          const offer = await nextEvent(handle, (e) => e.jsep?.type === 'offer');
          const answer = await viewer.answerOffer(offer.jsep!.sdp);
          await post(url, { janus: 'message', body: { request: 'start' }, jsep: { type: 'answer', sdp: answer } });
          await post(url, { janus: 'trickle', candidate: { completed: true } });
          return watch;
        } catch (error) {
          await watch.release();
          throw error;
        }
      },
      logTail,
      stop,
    };
  } catch (error) {
    const tail = await logTail(30);
    await stop();
    throw new Error(`Janus did not start: ${(error as Error).message}\n${tail}`, { cause: error });
  }

  async function logTail(lines = 40): Promise<string> {
    return (await readFile(logFile, 'utf8').catch(() => '')).trimEnd().split('\n').slice(-lines).join('\n');
  }

  /** The session's events, one long poll after the other, each handed to its handle. */
  async function longPoll(): Promise<void> {
    while (!polling.signal.aborted) {
      try {
        const response = await fetch(`${base}/${session}?maxev=${MAX_EVENTS}`, { signal: polling.signal });
        const body = (await response.json()) as JanusMessage | JanusMessage[];
        for (const event of Array.isArray(body) ? body : [body]) {
          const handle = event.sender !== undefined ? events.get(event.sender) : undefined;
          if (!handle) continue;
          if (handle.waiter) handle.waiter(event);
          else handle.queue.push(event);
        }
      } catch {
        if (!polling.signal.aborted) await sleep(100);
      }
    }
  }

  /** The handle's next event that matches; a plugin error, or none within OFFER_TIMEOUT_MS, rejects. */
  async function nextEvent(handle: number, matches: (event: JanusMessage) => boolean): Promise<JanusMessage> {
    const entry = events.get(handle)!;
    const timeout = new AbortController();
    const timedOut = sleep(OFFER_TIMEOUT_MS, undefined, { signal: timeout.signal }).then(
      () => Promise.reject(new Error(`no answer from janus within ${OFFER_TIMEOUT_MS} ms`)),
      () => undefined,
    );
    try {
      for (;;) {
        const event =
          entry.queue.shift() ??
          (await Promise.race([new Promise<JanusMessage>((resolve) => (entry.waiter = resolve)), timedOut]));
        entry.waiter = undefined;
        if (!event) continue;
        const error = event.plugindata?.data?.error;
        if (error) throw new Error(`janus streaming: ${error} (${event.plugindata?.data?.error_code})`);
        if (matches(event)) return event;
      }
    } finally {
      timeout.abort();
    }
  }

  async function detach(url: string, handle: number): Promise<void> {
    events.delete(handle);
    await post(url, { janus: 'detach' }).catch(() => undefined);
  }
}

/** One request of Janus's HTTP API; an error answer rejects. */
async function post(url: string, body: Record<string, unknown>): Promise<JanusMessage> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, transaction: randomUUID() }),
  });
  const message = (await response.json()) as JanusMessage;
  if (message.janus === 'error') throw new Error(`janus ${String(body.janus)}: ${message.error?.reason}`);
  return message;
}

/** Ends a child process: SIGTERM, then SIGKILL if it is still there after a while. */
async function end(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  if (await Promise.race([exited.then(() => true), sleep(STOP_TIMEOUT_MS).then(() => false)])) return;
  child.kill('SIGKILL');
  await exited;
}

/** This host's first IPv4 address other than loopback: Janus's one ICE candidate, and the engine's in bench:fanout. */
export function hostAddress(): string {
  const address = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  if (!address) throw new Error('no IPv4 address other than loopback for Janus to gather an ICE candidate on');
  return address;
}

/** A UDP port free on loopback right now (for the mountpoint to listen on). */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** janus.jcfg, the HTTP transport's and the streaming plugin's configuration, in the bench's own folder. */
async function writeConfig(
  dir: string,
  settings: { httpPort: number; videoPort: number; audioPort: number; iceAddress: string },
): Promise<void> {
  await writeFile(
    path.join(dir, 'janus.jcfg'),
    `general: {
  configs_folder = "${dir}"
  plugins_folder = "${JANUS_LIBS}/plugins"
  transports_folder = "${JANUS_LIBS}/transports"
  events_folder = "${JANUS_LIBS}/events"
  loggers_folder = "${JANUS_LIBS}/loggers"
  debug_level = 4
  session_timeout = 0
}
nat: {
  ice_enforce_list = "${settings.iceAddress}"
  full_trickle = false
}
media: {
}
plugins: {
  disable = "${OTHER_PLUGINS.map((name) => `libjanus_${name}.so`).join(',')}"
}
transports: {
  disable = "${OTHER_TRANSPORTS.map((name) => `libjanus_${name}.so`).join(',')}"
}
events: {
  broadcast = false
}
loggers: {
  disable = "libjanus_jsonlog.so"
}
`,
  );
  await writeFile(
    path.join(dir, 'janus.transport.http.jcfg'),
    `general: {
  json = "plain"
  base_path = "/janus"
  http = true
  port = ${settings.httpPort}
  ip = "127.0.0.1"
  https = false
}
admin: {
  admin_http = false
  admin_https = false
}
`,
  );
  await writeFile(
    path.join(dir, 'janus.plugin.streaming.jcfg'),
    `general: {
}
bench: {
  type = "rtp"
  id = ${MOUNTPOINT}
  description = "bench:fanout clip"
  media = (
    { type = "video", mid = "v", port = ${settings.videoPort}, iface = "127.0.0.1", pt = ${VIDEO_PT}, codec = "vp8" },
    { type = "audio", mid = "a", port = ${settings.audioPort}, iface = "127.0.0.1", pt = ${AUDIO_PT}, codec = "opus" }
  )
}
`,
  );
}

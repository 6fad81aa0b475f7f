/**
 * `npm run smoke -- <url>`: an end-to-end check of an onair deployment, run by an operator against production
 * (behind HTTPS, through its TURN server) or a local `npm start`. Two throwaway accounts; a synthetic presenter
 * (werift, real VP8 + Opus RTP, no camera, no browser) goes live and a synthetic viewer watches; the recording is
 * fetched through its signed URL and checked (WebM header, duration, a Range request); the two accounts make a
 * short call and hang up; what can be deleted is deleted. Each step prints a line with its time; the first failure
 * ends the run (exit 1) naming the step. The last line is one JSON object with every step's time and outcome.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { AuthResponse, HealthReport, RecordingList, RecordingView } from '../api/contract/rest.js';
import type { CallView, IceCandidateInit, IceServer, LiveSummary, Role } from '../api/contract/signalling.js';
import { Rest, Signalling, SmokeError, networkReason, signUp } from './client.js';
import { decodeVp8Frame, hasCommand, makeClip, readClip, type Clip } from './media.js';
import { SmokePeer } from './peer.js';
import { checkPlayableWebm, decodeWithFfmpeg } from './recording.js';

const STEPS = [
  ['reach', 'GET /healthz answers'],
  ['source', 'make the synthetic camera and microphone (VP8 + Opus clip)'],
  ['signup', 'register two throwaway accounts'],
  ['connect', 'both accounts connect to the signalling (socket.io)'],
  ['golive', 'account A goes live; its own stream comes back from the media server'],
  ['watch', 'account B watches; VP8 and Opus packets arrive, a whole keyframe decodes'],
  ['stop', 'A stops the live; B is told it ended; a recording id comes back'],
  ['recording', 'the recording is listed by GET /api/recordings, ready'],
  ['playback', 'its signed media URL serves a WebM with a header, a duration and a keyframe'],
  ['seek', 'a Range request answers 206 with the right bytes'],
  ['call', 'A calls B; B accepts; each side presents and receives the other'],
  ['hangup', 'A hangs up; both sides are told the call completed'],
  ['cleanup', 'delete what the run made (recordings), sign both accounts out'],
] as const;
type StepName = (typeof STEPS)[number][0];

const HELP = `Usage: npm run smoke -- <url> [options]

End-to-end check of an onair deployment: signs up two throwaway accounts, goes live
with a synthetic WebRTC peer (werift, VP8 + Opus RTP; no camera, no browser), watches
from the second account, checks the recording (WebM header, duration, Range request),
makes a short call between the two accounts, then deletes its recording.

  <url>                the deployment (its origin), e.g. https://onair.example.com or http://localhost:8080

Options:
  --seconds <n>        how long the live runs once the viewer gets media (default 3)
  --call-seconds <n>   how long the call lasts once both sides get media (default 2)
  --timeout <n>        seconds a step may take (default 30; the recording wait gets twice that)
  --relay              relay-only ICE (TURN candidates only): proves the TURN server works
  --media <file>       a VP8 + Opus WebM to send (default: a clip made with ffmpeg at run time)
  --keep               keep the recording (by default it is deleted)
  -h, --help           this text

Steps: ${STEPS.map(([name]) => name).join(', ')}.
Each step prints one line with its time; the run stops at the first failure and exits 1
with a message naming the step (exit 2: bad usage). The last line is one JSON object:
{"smoke":"onair","ok":...,"failedStep":...,"steps":[{"step":...,"ok":...,"ms":...},...]}.
ICE servers are the ones the deployment hands out (presenter:start, viewer:watch and the
call events, as for the browser), TURN credentials included.
The API has no account deletion: the two accounts (smoke_<hex>_a, smoke_<hex>_b) stay,
signed out.`;

interface StepResult {
  step: StepName;
  ok: boolean;
  ms: number;
  skipped?: true;
  detail?: string;
  error?: string;
}

function usage(message: string): never {
  console.error(`smoke: ${message}\n\n${HELP}`);
  process.exit(2);
}

function parseCli() {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        seconds: { type: 'string', default: '3' },
        'call-seconds': { type: 'string', default: '2' },
        timeout: { type: 'string', default: '30' },
        relay: { type: 'boolean', default: false },
        media: { type: 'string' },
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    usage((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  if (positionals.length !== 1) usage(positionals.length ? 'one URL only' : 'the deployment URL is missing');
  let base: URL;
  try {
    base = new URL(positionals[0]!);
  } catch {
    usage(`not a URL: ${positionals[0]}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') usage(`not an http(s) URL: ${base.href}`);
  const number = (name: string, value: string | undefined, min: number) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min) usage(`--${name} must be a number ≥ ${min}`);
    return n;
  };
  return {
    base: new URL(base.origin),
    liveSeconds: number('seconds', values.seconds, 0),
    callSeconds: number('call-seconds', values['call-seconds'], 0),
    timeoutMs: number('timeout', values.timeout, 1) * 1000,
    relayOnly: values.relay,
    media: values.media,
    keep: values.keep,
  };
}

const options = parseCli();

/** Polls `condition` until it is truthy; throws naming `what` (and what it saw) after the step's timeout. */
async function until<T>(condition: () => T, what: string, state: () => string = () => ''): Promise<NonNullable<T>> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = condition();
    if (value) return value;
    if (Date.now() > deadline) {
      const seen = state();
      throw new SmokeError(
        `timed out after ${options.timeoutMs / 1000} s waiting for ${what}${seen ? ` (${seen})` : ''}`,
      );
    }
    await sleep(50);
  }
}

function within<T>(promise: Promise<T>, what: string, ms = options.timeoutMs): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SmokeError(`timed out after ${ms / 1000} s waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function describeIce(iceServers: IceServer[]): string {
  const urls = iceServers.flatMap((s) => [s.urls].flat());
  if (urls.length === 0) return 'no ICE servers handed out (host candidates only)';
  const turn = iceServers.some((s) => [s.urls].flat().some((u) => /^turns?:/i.test(u)) && s.username);
  return `ICE servers ${urls.join(' ')}${turn ? ' (TURN credentials)' : ''}`;
}

/** The local candidate type of the pair ICE chose (host, srflx, relay, prflx). */
function pathOf(peer: SmokePeer): string {
  const nominated = peer.pc.iceTransports[0]?.connection.nominated;
  return nominated?.localCandidate.type ?? 'unknown';
}

const mediaState = (peer: SmokePeer) =>
  `connection ${peer.connectionState}, received ${peer.received.video} video / ${peer.received.audio} audio packets` +
  (peer.received.keyframe ? ', keyframe' : ', no whole keyframe yet');

// ---------------------------------------------------------------------------------------------------------------
// State the steps share, and what cleanup must undo.

const run = randomBytes(3).toString('hex');
const password = randomBytes(18).toString('base64url');
const rest = new Rest(options.base);
const made = {
  peers: new Set<SmokePeer>(),
  sockets: new Set<Signalling>(),
  recordings: new Set<number>(),
  tokens: [] as Rest[],
  liveIds: [] as Array<{ socket: Signalling; liveId: string }>,
  workDir: '',
};
const candidateErrors: string[] = [];
let clip: Clip;
let accountA: AuthResponse;
let accountB: AuthResponse;
let socketA: Signalling;
let socketB: Signalling;
let liveId = '';
let recordingId = 0;
let recording: RecordingView;
let mediaFile: Buffer;
let callId = '';

/** Routes the media server's trickled candidates of each socket to the peer of that live and role. */
const routes = new Map<Signalling, Map<string, SmokePeer>>();
function route(socket: Signalling, id: string, role: Role, peer: SmokePeer): void {
  let table = routes.get(socket);
  if (!table) {
    table = new Map();
    routes.set(socket, table);
    const own = table;
    socket.on('ice:candidate', (msg: { liveId: string; role: Role; candidate: IceCandidateInit }) => {
      own.get(`${msg.liveId}:${msg.role}`)?.addCandidate(msg.candidate);
    });
  }
  table.set(`${id}:${role}`, peer);
}

function newPeer(socket: Signalling, id: string, role: Role, iceServers: IceServer[], send: Clip | null): SmokePeer {
  const peerOptions = {
    iceServers,
    relayOnly: options.relayOnly,
    onCandidate: (candidate: IceCandidateInit) =>
      socket.send('ice:candidate', { liveId: id, role, candidate }, (message) => candidateErrors.push(message)),
  };
  const peer = send ? SmokePeer.presenter(peerOptions, send) : SmokePeer.viewer(peerOptions);
  made.peers.add(peer);
  route(socket, id, role, peer);
  return peer;
}

function checkIce(iceServers: IceServer[]): void {
  if (!Array.isArray(iceServers)) throw new SmokeError('the deployment handed out no iceServers list');
  if (options.relayOnly && !iceServers.some((s) => [s.urls].flat().some((u) => /^turns?:/i.test(u)))) {
    throw new SmokeError('--relay was given but the deployment hands out no TURN server (TURN_URLS, TURN_SECRET)');
  }
}

/** Media flows on a receiving peer: audio and video packets, and one whole keyframe of the clip's size. */
async function receives(peer: SmokePeer, what: string): Promise<string> {
  await until(
    () => peer.received.video > 0 && peer.received.audio > 0 && peer.received.keyframe,
    `${what}: audio, video and a whole VP8 keyframe`,
    () => mediaState(peer) + (candidateErrors.length ? `; ICE candidates refused: ${candidateErrors[0]}` : ''),
  );
  const key = peer.received.keyframe!;
  if (key.width !== clip.width || key.height !== clip.height) {
    throw new SmokeError(
      `${what}: the keyframe is ${key.width}x${key.height}, the source ${clip.width}x${clip.height}`,
    );
  }
  let decoded = 'not decoded (no ffmpeg)';
  if (await hasCommand('ffmpeg')) {
    await decodeVp8Frame(made.workDir, key.data, key.width, key.height).catch((error: Error) => {
      throw new SmokeError(`${what}: the received keyframe does not decode: ${error.message}`);
    });
    decoded = 'decoded by ffmpeg';
  }
  return `${peer.received.video} video / ${peer.received.audio} audio packets, keyframe ${key.width}x${key.height} ${decoded}, path ${pathOf(peer)}`;
}

/** A presenter peer for a reserved live: offer, answer, and its own stream back (the loopback preview). */
async function present(
  socket: Signalling,
  id: string,
  iceServers: IceServer[],
  offer: (sdpOffer: string) => Promise<{ sdpAnswer: string }>,
): Promise<SmokePeer> {
  const peer = newPeer(socket, id, 'presenter', iceServers, clip);
  const { sdpAnswer } = await offer(await peer.offer());
  await peer.answer(sdpAnswer);
  await until(
    () => peer.connectionState === 'connected',
    'the presenter peer to connect (ICE + DTLS)',
    () => mediaState(peer),
  );
  await until(
    () => peer.received.video > 0 && peer.received.audio > 0,
    'the presenter’s own stream back from the media server (loopback preview)',
    () => `${mediaState(peer)}; sent ${peer.sentFrames.video} video / ${peer.sentFrames.audio} audio frames`,
  );
  return peer;
}

async function watch(socket: Signalling, id: string, iceServers: IceServer[]): Promise<SmokePeer> {
  const peer = newPeer(socket, id, 'viewer', iceServers, null);
  const { sdpAnswer } = await socket.request<{ sdpAnswer: string }>('viewer:offer', {
    liveId: id,
    sdpOffer: await peer.offer(),
  });
  await peer.answer(sdpAnswer);
  return peer;
}

async function closePeers(): Promise<void> {
  await Promise.all([...made.peers].map((peer) => peer.close()));
  made.peers.clear();
}

// ---------------------------------------------------------------------------------------------------------------
// The steps.

const steps: Record<StepName, () => Promise<string>> = {
  async source() {
    made.workDir = await mkdtemp(path.join(os.tmpdir(), 'onair-smoke-'));
    const file = options.media ?? (await makeClip(made.workDir));
    clip = await readClip(file);
    return `${options.media ? file : 'made with ffmpeg'}: VP8 ${clip.width}x${clip.height}, ${clip.video.length} video / ${clip.audio.length} Opus frames in ${(clip.durationMs / 1000).toFixed(1)} s, looped`;
  },

  async reach() {
    const answer = await rest.request<HealthReport>('GET', '/healthz');
    if (answer.status === 404) return 'no /healthz here (404): the API answers';
    const report = answer.body;
    if (typeof report !== 'object' || !report?.checks) {
      throw new SmokeError(`GET /healthz answered ${answer.status} but not with onair's health report`);
    }
    const failing = Object.entries(report.checks)
      .filter(([, check]) => !check.ok)
      .map(([name, check]) => `${name}: ${check.detail ?? 'failing'}`);
    if (answer.status !== 200 || failing.length) {
      throw new SmokeError(
        `the deployment is ${report.status} (${answer.status}): ${failing.join('; ') || 'no detail'}`,
      );
    }
    const figures = Object.entries(report.checks).map(([name, check]) => `${name} ${check.ms} ms`);
    return `healthy (${figures.join(', ')})`;
  },

  async signup() {
    accountA = await signUp(rest, `smoke_${run}_a`, password);
    made.tokens.push(rest.withToken(accountA.token));
    accountB = await signUp(rest, `smoke_${run}_b`, password);
    made.tokens.push(rest.withToken(accountB.token));
    return `${accountA.user.nickname} (#${accountA.user.id}), ${accountB.user.nickname} (#${accountB.user.id})`;
  },

  async connect() {
    socketA = await Signalling.connect(options.base, accountA.token, options.timeoutMs);
    made.sockets.add(socketA);
    socketB = await Signalling.connect(options.base, accountB.token, options.timeoutMs);
    made.sockets.add(socketB);
    return `two socket.io connections (${socketA.socket.io.engine.transport.name})`;
  },

  async golive() {
    const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const reserved = await socketA.request<{ liveId: string; iceServers: IceServer[] }>('presenter:start', {
      title: `onair smoke ${run}`,
      ...(timeZone ? { timeZone } : {}),
    });
    liveId = reserved.liveId;
    made.liveIds.push({ socket: socketA, liveId });
    checkIce(reserved.iceServers);
    const peer = await present(socketA, liveId, reserved.iceServers, (sdpOffer) =>
      socketA.request('presenter:offer', { liveId, sdpOffer }),
    );
    return `live ${liveId} on air; loopback ${peer.received.video} video / ${peer.received.audio} audio packets, path ${pathOf(peer)}; ${describeIce(reserved.iceServers)}`;
  },

  async watch() {
    const watched = await socketB.request<{ live: LiveSummary; iceServers: IceServer[] }>('viewer:watch', { liveId });
    checkIce(watched.iceServers);
    const peer = await watch(socketB, liveId, watched.iceServers);
    const joined = socketA.waitFor('live:viewerJoined', (m) => m.liveId === liveId && m.viewer.id === accountB.user.id);
    const got = await receives(peer, 'the viewer');
    await within(joined, 'the presenter to be told the viewer joined (live:viewerJoined)');
    return `${got}; presenter told of the join`;
  },

  async stop() {
    await sleep(options.liveSeconds * 1000);
    const ended = socketB.waitFor('live:ended', (m) => m.liveId === liveId);
    const { recordingId: id } = await socketA.request<{ recordingId: number | null }>('presenter:stop', { liveId });
    made.liveIds = made.liveIds.filter((l) => l.liveId !== liveId);
    const told = await within(ended, 'the viewer to be told the live ended (live:ended)');
    await closePeers();
    if (id === null) throw new SmokeError('presenter:stop answered recordingId null: this live was not recorded');
    recordingId = id;
    made.recordings.add(id);
    return `recording #${id}; the viewer was told (reason ${told.reason})`;
  },

  async recording() {
    const client = made.tokens[0]!;
    const deadline = Date.now() + 2 * options.timeoutMs;
    let last = 'not listed';
    for (;;) {
      const list = await client.expect<RecordingList>('GET', '/api/recordings?mine=true&size=100', 200);
      const found = list.recordings.find((r) => r.id === recordingId);
      if (found) last = `status ${found.status}`;
      if (found?.status === 'ready') {
        recording = found;
        break;
      }
      if (found && found.status !== 'recording') {
        throw new SmokeError(`recording #${recordingId} is ${found.status}, not ready`);
      }
      if (Date.now() > deadline) {
        throw new SmokeError(`recording #${recordingId} not ready after ${(2 * options.timeoutMs) / 1000} s (${last})`);
      }
      await sleep(250);
    }
    return `#${recording.id} ready: ${((recording.durationMs ?? 0) / 1000).toFixed(1)} s, ${recording.sizeBytes} bytes, ${recording.mimeType}`;
  },

  async playback() {
    const url = new URL(recording.mediaUrl, options.base);
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs) });
    } catch (error) {
      throw new SmokeError(`GET the media URL: no answer (${networkReason(error)})`);
    }
    if (response.status !== 200)
      throw new SmokeError(`GET the media URL answered ${response.status}: ${await response.text()}`);
    const type = response.headers.get('content-type') ?? '';
    if (!type.startsWith('video/webm'))
      throw new SmokeError(`the media URL serves ${type || 'no content type'}, not video/webm`);
    mediaFile = Buffer.from(await response.arrayBuffer());
    const length = Number(response.headers.get('content-length') ?? mediaFile.length);
    if (length !== mediaFile.length)
      throw new SmokeError(`Content-Length ${length} but ${mediaFile.length} bytes came`);
    const webm = await checkPlayableWebm(mediaFile);
    let decoded = 'not decoded (no ffmpeg)';
    if (await hasCommand('ffmpeg')) {
      await decodeWithFfmpeg(made.workDir, mediaFile);
      decoded = 'decoded cleanly by ffmpeg';
    }
    const minimumMs = Math.min(1000, options.liveSeconds * 500);
    if (webm.durationMs < minimumMs) throw new SmokeError(`the recording lasts ${webm.durationMs} ms only`);
    return `${mediaFile.length} bytes, ${webm.codecs.join(' + ')}, header duration ${(webm.headerDurationMs / 1000).toFixed(2)} s, ${decoded}`;
  },

  async seek() {
    const url = new URL(recording.mediaUrl, options.base);
    const size = mediaFile.length;
    const start = Math.floor(size / 2);
    const end = Math.min(size - 1, start + 4095);
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { range: `bytes=${start}-${end}` },
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      throw new SmokeError(`GET the media URL with a Range: no answer (${networkReason(error)})`);
    }
    if (response.status !== 206) throw new SmokeError(`a Range request answered ${response.status}, not 206`);
    const contentRange = response.headers.get('content-range');
    if (contentRange !== `bytes ${start}-${end}/${size}`) {
      throw new SmokeError(`Content-Range is "${contentRange}", expected "bytes ${start}-${end}/${size}"`);
    }
    const part = Buffer.from(await response.arrayBuffer());
    if (!part.equals(mediaFile.subarray(start, end + 1))) {
      throw new SmokeError(`the ${part.length} bytes of the Range answer are not bytes ${start}-${end} of the file`);
    }
    const webm = await checkPlayableWebm(mediaFile);
    return `206 bytes ${start}-${end}/${size} match; a seek to half-way lands on the keyframe at ${(webm.seekKeyframeMs / 1000).toFixed(2)} s`;
  },

  async call() {
    const ringing = socketB.waitFor<CallView>(
      'call:state',
      (c) => c.state === 'ringing' && c.caller.id === accountA.user.id,
    );
    const { call } = await socketA.request<{ call: CallView }>('call:invite', { nickname: accountB.user.nickname });
    callId = call.id;
    await within(ringing, 'the call to ring at B (call:state ringing)');
    const peerLiveA = socketA.waitFor<{ liveId: string }>('call:peerLive', (m) => m.callId === callId);
    const peerLiveB = socketB.waitFor<{ liveId: string }>('call:peerLive', (m) => m.callId === callId);
    await socketB.request('call:accept', { callId });
    const side = async (socket: Signalling, otherLive: Promise<{ liveId: string }>, who: string) => {
      const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      const reserved = await socket.request<{ liveId: string; iceServers: IceServer[] }>('call:present', {
        callId,
        ...(timeZone ? { timeZone } : {}),
      });
      checkIce(reserved.iceServers);
      made.liveIds.push({ socket, liveId: reserved.liveId });
      await present(socket, reserved.liveId, reserved.iceServers, (sdpOffer) =>
        socket.request('call:offer', { callId, liveId: reserved.liveId, sdpOffer }),
      );
      const other = await within(otherLive, `${who} to be told the other side is on air (call:peerLive)`);
      const watched = await socket.request<{ liveId: string; iceServers: IceServer[] }>('call:watch', { callId });
      if (watched.liveId !== other.liveId)
        throw new SmokeError(`call:watch gave live ${watched.liveId}, call:peerLive ${other.liveId}`);
      const peer = await watch(socket, watched.liveId, watched.iceServers);
      return receives(peer, `${who} receiving the other side`);
    };
    const [a, b] = await Promise.all([side(socketA, peerLiveA, 'A'), side(socketB, peerLiveB, 'B')]);
    return `call ${callId} answered; A gets ${a.split(',')[0]}, B gets ${b.split(',')[0]} (each with a decodable keyframe)`;
  },

  async hangup() {
    await sleep(options.callSeconds * 1000);
    const endedA = socketA.waitFor<CallView>('call:state', (c) => c.id === callId && c.state === 'ended');
    const endedB = socketB.waitFor<CallView>('call:state', (c) => c.id === callId && c.state === 'ended');
    const { call } = await socketA.request<{ call: CallView }>('call:hangUp', { callId });
    const [a, b] = await within(Promise.all([endedA, endedB]), 'both sides to be told the call ended');
    await closePeers();
    made.liveIds = [];
    if (a.outcome !== 'completed' || b.outcome !== 'completed') {
      throw new SmokeError(`the call ended ${a.outcome} / ${b.outcome} (${a.endReason}), not completed`);
    }
    return `completed after ${((call.durationMs ?? b.durationMs ?? 0) / 1000).toFixed(1)} s of talk`;
  },

  async cleanup() {
    return cleanUp();
  },
};

/** Releases what the run made, whatever happened before; throws when something it could delete stayed. */
async function cleanUp(): Promise<string> {
  const problems: string[] = [];
  const done: string[] = [];
  for (const { socket, liveId: id } of made.liveIds.splice(0)) {
    await socket.request('presenter:stop', { liveId: id }).catch(() => undefined);
  }
  await closePeers();
  // Calls recorded by a deployment with RECORD_CALLS: theirs too (both accounts are this run's own).
  for (const client of made.tokens) {
    const list = await client.request<RecordingList>('GET', '/api/recordings?mine=true&size=100').catch(() => null);
    for (const r of list?.status === 200 ? list.body.recordings : []) made.recordings.add(r.id);
  }
  if (options.keep) {
    if (made.recordings.size)
      done.push(`kept recording${made.recordings.size > 1 ? 's' : ''} #${[...made.recordings].join(', #')} (--keep)`);
  } else {
    for (const id of made.recordings) {
      const statuses: number[] = [];
      for (const client of made.tokens) {
        const answer = await client.request('DELETE', `/api/recordings/${id}`).catch(() => null);
        statuses.push(answer?.status ?? 0);
        if (answer?.status !== 204) continue;
        const check = await client.request('GET', `/api/recordings/${id}`).catch(() => null);
        if (check?.status === 404) done.push(`deleted recording #${id}`);
        else problems.push(`recording #${id} still answers ${check?.status ?? 'nothing'} after its DELETE`);
        break;
      }
      if (!statuses.includes(204) && !statuses.every((status) => status === 404)) {
        problems.push(`recording #${id} could not be deleted (DELETE answered ${statuses.join(', ')})`);
      }
    }
    made.recordings.clear();
  }
  for (const socket of made.sockets) socket.close();
  made.sockets.clear();
  let signedOut = 0;
  for (const client of made.tokens.splice(0)) {
    const answer = await client.request('POST', '/api/auth/logout').catch(() => null);
    if (answer?.status === 204) signedOut += 1;
  }
  if (signedOut) done.push(`signed ${signedOut} account${signedOut > 1 ? 's' : ''} out`);
  if (made.workDir) await rm(made.workDir, { recursive: true, force: true });
  made.workDir = '';
  if (accountA)
    done.push(
      `accounts ${accountA.user.nickname}${accountB ? `, ${accountB.user.nickname}` : ''} stay (the API has no account deletion)`,
    );
  if (problems.length) throw new SmokeError(problems.join('; '));
  return done.join('; ') || 'nothing to clean up';
}

// ---------------------------------------------------------------------------------------------------------------

// werift may reject a promise nobody awaits (a late packet on a closed transport): say so, do not die without a report.
process.on('unhandledRejection', (reason) => console.error('smoke: ignored an asynchronous error:', reason));

const results: StepResult[] = [];
const started = performance.now();
const width = Math.max(...STEPS.map(([name]) => name.length));
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`.padStart(8);

console.log(`onair smoke check of ${options.base.href}${options.relayOnly ? ' (relay only)' : ''}`);
let failed: StepResult | undefined;
for (const [name] of STEPS) {
  if (failed && name !== 'cleanup') {
    results.push({ step: name, ok: false, ms: 0, skipped: true });
    console.log(`  skip  ${name.padEnd(width)}`);
    continue;
  }
  const t0 = performance.now();
  try {
    const detail = await steps[name]();
    const result: StepResult = { step: name, ok: true, ms: Math.round(performance.now() - t0), detail };
    results.push(result);
    console.log(`  ok    ${name.padEnd(width)} ${seconds(result.ms)}  ${detail}`);
  } catch (error) {
    const message = error instanceof SmokeError ? error.message : `${(error as Error)?.stack ?? error}`;
    const result: StepResult = { step: name, ok: false, ms: Math.round(performance.now() - t0), error: message };
    results.push(result);
    failed ??= result;
    console.log(`  FAIL  ${name.padEnd(width)} ${seconds(result.ms)}  ${message}`);
  }
}
const totalMs = Math.round(performance.now() - started);
if (failed) {
  console.log(
    `smoke: FAILED at step "${failed.step}" (${STEPS.find(([n]) => n === failed.step)![1]}): ${failed.error}`,
  );
} else {
  console.log(`smoke: ok, ${results.length} steps in ${(totalMs / 1000).toFixed(1)} s`);
}
console.log(
  JSON.stringify({
    smoke: 'onair',
    url: options.base.href,
    ok: !failed,
    failedStep: failed?.step ?? null,
    totalMs,
    steps: results.map(({ step, ok, ms, skipped, error }) => ({
      step,
      ok,
      ms,
      ...(skipped ? { skipped } : {}),
      ...(error ? { error } : {}),
    })),
  }),
);
process.exit(failed ? 1 : 0);

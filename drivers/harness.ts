/**
 * A bare WebRTC client page for media tests: RTCPeerConnection + socket.io-client in real Chromium, speaking the
 * signalling contract directly (no UI), so that tests control every step (e.g. candidates before the offer).
 * The page is served on the app's own origin through Playwright routing: nothing is added to the server.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';

const SOCKET_IO_JS = readFileSync(
  fileURLToPath(new URL('../node_modules/socket.io-client/dist/socket.io.min.js', import.meta.url)),
  'utf8',
);

const HARNESS_JS = String.raw`
const emitAck = (socket, event, payload) => new Promise((resolve) =>
  socket.timeout(20000).emit(event, payload, (err, res) => resolve(err ? { ok: false, error: { code: 'test.noAck', message: String(err) } } : res)));
const sessions = {};
function connect(token) {
  return io({ path: '/socket.io/webrtc', auth: { token }, transports: ['websocket'], reconnection: false });
}
async function negotiate(key, socket, liveId, role, opts) {
  const s = { key, socket, liveId, role, events: [], pc: null };
  sessions[key] = s;
  const pc = new RTCPeerConnection({ iceServers: opts.iceServers || [] });
  s.pc = pc;
  if (role === 'presenter') {
    // opts.media: 'audio' or 'video' for a presenter that sends one kind only (default both).
    const stream = await navigator.mediaDevices.getUserMedia({ audio: opts.media !== 'video', video: opts.media !== 'audio' });
    for (const t of stream.getTracks()) pc.addTrack(t, stream);
  } else {
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
  }
  // Play what comes back, as a page would: Chromium decodes audio only for a playing element.
  const remote = new MediaStream();
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  video.srcObject = remote;
  document.body.appendChild(video);
  pc.ontrack = (e) => { remote.addTrack(e.track); video.play().catch(() => {}); };
  s.video = video;
  s.t0 = opts.t0 || performance.now();
  s.marks = { ...(opts.marks || {}) };
  const mark = (name) => { if (s.marks[name] === undefined) s.marks[name] = Math.round(performance.now() - s.t0); };
  pc.addEventListener('iceconnectionstatechange', () => pc.iceConnectionState === 'connected' && mark('iceConnected'));
  pc.addEventListener('connectionstatechange', () => pc.connectionState === 'connected' && mark('dtlsConnected'));
  pc.addEventListener('track', () => mark('track'));
  video.requestVideoFrameCallback(() => { s.firstFrameMs = performance.now() - s.t0; mark('firstFrame'); });
  // firstPacket: the first video packet received (getStats polled every 20 ms until then, for a receiving peer).
  const pollFirstPacket = async () => {
    if (s.marks.firstPacket !== undefined || pc.connectionState === 'closed') return;
    const stats = await pc.getStats().catch(() => undefined);
    let got = false;
    stats?.forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'video' && r.packetsReceived > 0) got = true; });
    if (got) mark('firstPacket'); else setTimeout(pollFirstPacket, 20);
  };
  if (role === 'viewer') pc.addEventListener('connectionstatechange', () => pc.connectionState === 'connected' && pollFirstPacket());
  let remoteSet = false;
  const pending = [];
  socket.on('ice:candidate', (m) => {
    if (m.liveId !== liveId || m.role !== role) return;
    if (remoteSet) pc.addIceCandidate(m.candidate).catch(() => {}); else pending.push(m.candidate);
  });
  const local = [];
  pc.onicecandidate = (e) => { if (e.candidate) local.push(e.candidate.toJSON()); };
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  if (opts.candidatesFirst) {
    // Gather everything, send every candidate, and only then the offer: they all reach the server first.
    await new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
    });
    for (const c of local.splice(0)) s.events.push(['candidateAck', await emitAck(socket, 'ice:candidate', { liveId, role, candidate: c })]);
  } else {
    pc.onicecandidate = (e) => { if (e.candidate) emitAck(socket, 'ice:candidate', { liveId, role, candidate: e.candidate.toJSON() }); };
    for (const c of local.splice(0)) emitAck(socket, 'ice:candidate', { liveId, role, candidate: c });
  }
  const sdpOffer = opts.mangleOffer ? opts.mangleOffer : pc.localDescription.sdp;
  mark('offerSent');
  const answering = emitAck(socket, opts.offerEvent || role + ':offer', { ...(opts.offerExtra || {}), liveId, sdpOffer });
  if (opts.dropAfterOffer) { socket.disconnect(); pc.close(); return { ok: true, liveId }; }
  const answer = await answering;
  mark('answered');
  if (!answer.ok) return answer;
  await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdpAnswer });
  remoteSet = true;
  for (const c of pending.splice(0)) await pc.addIceCandidate(c).catch(() => {});
  return { ok: true, liveId };
}
// Calls: one socket per user key carries the call; its presenter session is "<key>:me", its viewer "<key>:peer".
const callers = {};
// present(..., { hold: true }): the live is reserved (reserved[key] is its id) and the offer waits for proceed(key).
const reserved = {};
const holds = {};
window.onair = {
  sessions,
  reserved,
  proceed(key) { if (holds[key]) holds[key](); },
  async callConnect(key, token) {
    const socket = connect(token);
    const c = { socket, events: [] };
    socket.onAny((event, payload) => c.events.push([event, payload]));
    callers[key] = c;
    return new Promise((resolve) => {
      socket.once('connect', () => resolve({ ok: true }));
      socket.once('connect_error', (e) => resolve({ ok: false, error: { code: 'test.connect', message: String(e) } }));
    });
  },
  callRequest(key, event, payload) { return emitAck(callers[key].socket, event, payload); },
  async callPresent(key, callId) {
    const c = callers[key];
    const start = await emitAck(c.socket, 'call:present', { callId, timeZone: 'Europe/Paris' });
    if (!start.ok) return start;
    return negotiate(key + ':me', c.socket, start.liveId, 'presenter', { iceServers: start.iceServers, offerEvent: 'call:offer', offerExtra: { callId } });
  },
  async callWatch(key, callId) {
    const c = callers[key];
    const watched = await emitAck(c.socket, 'call:watch', { callId });
    if (!watched.ok) return watched;
    return negotiate(key + ':peer', c.socket, watched.liveId, 'viewer', { iceServers: watched.iceServers });
  },
  callEvents(key) { return callers[key] ? callers[key].events : []; },
  // A dropped connection (the socket's transport cut, its peer connections gone, as on a reload), then a new
  // socket of the same account that resumes the call: its own live (presenter:resume) and watching the other side.
  callDrop(key) {
    const c = callers[key];
    c.socket.io.engine.close();
    for (const k of [key + ':me', key + ':peer']) if (sessions[k]) { sessions[k].pc.close(); sessions[k].video.remove(); }
  },
  async callResume(key, token, callId) {
    const old = callers[key];
    const socket = connect(token);
    socket.onAny((event, payload) => old.events.push([event, payload]));
    callers[key] = { socket, events: old.events };
    await new Promise((resolve) => socket.once('connect', resolve));
    const resumed = await emitAck(socket, 'call:resume', { callId });
    if (!resumed.ok) return resumed;
    const own = resumed.liveId
      ? await negotiate(key + ':me', socket, resumed.liveId, 'presenter', { iceServers: resumed.iceServers, offerEvent: 'presenter:resume' })
      : await window.onair.callPresent(key, callId);
    if (!own.ok) return own;
    const watched = await window.onair.callWatch(key, callId);
    if (!watched.ok) return watched;
    return { ok: true, liveId: own.liveId, resumedLive: resumed.liveId };
  },
  async present(key, token, title, opts = {}) {
    const socket = connect(token);
    const s0 = { events: [] };
    for (const ev of ['live:viewerJoined', 'live:viewerLeft', 'live:ended', 'live:recordingFailed']) socket.on(ev, (m) => (sessions[key] || s0).events.push([ev, m]));
    const start = await emitAck(socket, 'presenter:start', { title, timeZone: 'Europe/Paris' });
    if (!start.ok) { socket.disconnect(); return start; }
    reserved[key] = start.liveId;
    if (opts.hold) await new Promise((resolve) => (holds[key] = resolve));
    const res = await negotiate(key, socket, start.liveId, 'presenter', { ...opts, iceServers: start.iceServers });
    sessions[key].events.unshift(...s0.events);
    return res;
  },
  async watch(key, token, liveId, opts = {}) {
    const t0 = performance.now();
    const socket = connect(token);
    for (const ev of ['live:ended', 'live:presenterReconnecting', 'live:presenterResumed', 'live:viewerMediaLost']) socket.on(ev, (m) => sessions[key] && sessions[key].events.push([ev, m]));
    const joined = await emitAck(socket, 'viewer:watch', { liveId });
    if (!joined.ok) { socket.disconnect(); return joined; }
    return negotiate(key, socket, liveId, 'viewer', { ...opts, iceServers: joined.iceServers, t0, marks: { joined: Math.round(performance.now() - t0) } });
  },
  // A viewer that watches on: a new peer connection and viewer:offer on the same socket (after live:viewerMediaLost).
  async reoffer(key) {
    const s = sessions[key];
    s.pc.close();
    s.video.remove();
    const res = await negotiate(key, s.socket, s.liveId, 'viewer', {});
    sessions[key].events.unshift(...s.events);
    return res;
  },
  async stop(key) {
    const s = sessions[key];
    return emitAck(s.socket, 'presenter:stop', { liveId: s.liveId });
  },
  async leave(key) {
    const s = sessions[key];
    const res = await emitAck(s.socket, 'viewer:leave', { liveId: s.liveId });
    s.pc.close();
    s.video.remove();
    return res;
  },
  // The presenter's connection drops (its socket's transport cut, its peer connection gone, as on a reload)...
  dropPresenter(key) {
    const s = sessions[key];
    s.socket.io.engine.close();
    s.pc.close();
    s.video.remove();
  },
  // ...and comes back: a new socket of the same account resumes the live with a new peer connection.
  async resume(key, token) {
    const old = sessions[key];
    const socket = connect(token);
    await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('connect_error', reject); });
    const events = old.events;
    for (const ev of ['live:viewerJoined', 'live:viewerLeft', 'live:ended', 'live:recordingFailed']) socket.on(ev, (m) => events.push([ev, m]));
    const res = await negotiate(key, socket, old.liveId, 'presenter', { offerEvent: 'presenter:resume' });
    sessions[key].events = events;
    return res;
  },
  drop(key) {
    const s = sessions[key];
    s.socket.disconnect();
    if (s.pc) s.pc.close();
    if (s.video) s.video.remove();
  },
  events(key) { return sessions[key] ? sessions[key].events : []; },
  firstFrameMs(key) { return sessions[key] ? sessions[key].firstFrameMs : undefined; },
  marks(key) { return sessions[key] ? sessions[key].marks : {}; },
  async stats(key) {
    const s = sessions[key];
    const out = { framesDecoded: 0, audioBytes: 0, audioSamples: 0, state: s.pc.connectionState };
    (await s.pc.getStats()).forEach((r) => {
      if (r.type !== 'inbound-rtp') return;
      if (r.kind === 'video') out.framesDecoded += r.framesDecoded || 0;
      if (r.kind === 'audio') { out.audioBytes += r.bytesReceived || 0; out.audioSamples += r.totalSamplesReceived || 0; }
    });
    return out;
  },
};
`;

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>onair test harness</title>
<script src="/__test/socket.io.js"></script><script src="/__test/harness.js"></script></head><body></body></html>`;

export interface MediaStats {
  framesDecoded: number;
  audioBytes: number;
  audioSamples: number;
  state: string;
}

export type AckResult = { ok: true; liveId: string } | { ok: false; error: { code: string; message: string } };

/** A harness page on the app's origin in a fresh context. */
export async function openHarness(context: BrowserContext, baseUrl: string): Promise<Harness> {
  await context.route(`${baseUrl}/__test/**`, async (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === '/__test/page.html') return route.fulfill({ contentType: 'text/html', body: PAGE });
    if (url.pathname === '/__test/socket.io.js')
      return route.fulfill({ contentType: 'text/javascript', body: SOCKET_IO_JS });
    if (url.pathname === '/__test/harness.js')
      return route.fulfill({ contentType: 'text/javascript', body: HARNESS_JS });
    return route.fulfill({ status: 404, body: 'not found' });
  });
  const page = await context.newPage();
  await page.goto(`${baseUrl}/__test/page.html`);
  return new Harness(page);
}

/** Node-side handle on a harness page. */
export class Harness {
  constructor(readonly page: Page) {}

  /**
   * Go live. `media` sends one kind only; `hold` waits after the reservation until `proceed(key)` (the live's id is
   * then `reserved(key)`); `dropAfterOffer` disconnects right after sending the offer.
   */
  present(
    key: string,
    token: string,
    title: string,
    opts: {
      candidatesFirst?: boolean;
      mangleOffer?: string;
      media?: 'audio' | 'video';
      hold?: boolean;
      dropAfterOffer?: boolean;
    } = {},
  ): Promise<AckResult> {
    return this.page.evaluate(([k, t, ti, o]) => (globalThis as any).onair.present(k, t, ti, o), [
      key,
      token,
      title,
      opts,
    ] as const);
  }

  watch(
    key: string,
    token: string,
    liveId: string,
    opts: { candidatesFirst?: boolean; mangleOffer?: string } = {},
  ): Promise<AckResult> {
    return this.page.evaluate(([k, t, id, o]) => (globalThis as any).onair.watch(k, t, id, o), [
      key,
      token,
      liveId,
      opts,
    ] as const);
  }

  /** The id of a live reserved by `present(key, ..., { hold: true })`, once reserved. */
  reserved(key: string): Promise<string | undefined> {
    return this.page.evaluate((k) => (globalThis as any).onair.reserved[k], key);
  }

  /** Let a held `present` send its offer. */
  proceed(key: string): Promise<void> {
    return this.page.evaluate((k) => (globalThis as any).onair.proceed(k), key);
  }

  /** A viewer sends a new offer on the same socket, with a new peer connection (events so far are kept). */
  reoffer(key: string): Promise<AckResult> {
    return this.page.evaluate((k) => (globalThis as any).onair.reoffer(k), key);
  }

  stop(key: string): Promise<{ ok: boolean; recordingId?: number | null; error?: { code: string } }> {
    return this.page.evaluate((k) => (globalThis as any).onair.stop(k), key);
  }

  leave(key: string): Promise<{ ok: boolean }> {
    return this.page.evaluate((k) => (globalThis as any).onair.leave(k), key);
  }

  /** Cut the presenter's socket (its transport) and close its peer connection, as a reload or network change does. */
  dropPresenter(key: string): Promise<void> {
    return this.page.evaluate((k) => (globalThis as any).onair.dropPresenter(k), key);
  }

  /** A new socket of the same account resumes `key`'s live (`presenter:resume` with a new peer connection). */
  resume(key: string, token: string): Promise<AckResult> {
    return this.page.evaluate(([k, t]) => (globalThis as any).onair.resume(k, t), [key, token] as const);
  }

  /** Cut the socket that carries `key`'s call and close both its peer connections. */
  callDrop(key: string): Promise<void> {
    return this.page.evaluate((k) => (globalThis as any).onair.callDrop(k), key);
  }

  /** A new socket of the same account resumes the call: `call:resume`, its own live, watching the other side. */
  callResume(
    key: string,
    token: string,
    callId: string,
  ): Promise<{ ok: true; liveId: string; resumedLive: string | null } | { ok: false; error: { code: string } }> {
    return this.page.evaluate(([k, t, c]) => (globalThis as any).onair.callResume(k, t, c), [
      key,
      token,
      callId,
    ] as const);
  }

  drop(key: string): Promise<void> {
    return this.page.evaluate((k) => (globalThis as any).onair.drop(k), key);
  }

  /** Milliseconds from the start of `watch` (socket connection included) to the first rendered video frame. */
  firstFrameMs(key: string): Promise<number | undefined> {
    return this.page.evaluate((k) => (globalThis as any).onair.firstFrameMs(k), key);
  }

  /** Milestones of a session's set-up, in ms from its start (joined, offerSent, answered, iceConnected, dtlsConnected, track, firstPacket (viewers, ±20 ms), firstFrame). */
  marks(key: string): Promise<Record<string, number>> {
    return this.page.evaluate((k) => (globalThis as any).onair.marks(k), key);
  }

  stats(key: string): Promise<MediaStats> {
    return this.page.evaluate((k) => (globalThis as any).onair.stats(k), key);
  }

  events(key: string): Promise<Array<[string, any]>> {
    return this.page.evaluate((k) => (globalThis as any).onair.events(k), key);
  }

  /** Calls: connect the socket that carries `key`'s calls (every server event it gets is kept). */
  callConnect(key: string, token: string): Promise<{ ok: boolean; error?: { code: string; message: string } }> {
    return this.page.evaluate(([k, t]) => (globalThis as any).onair.callConnect(k, t), [key, token] as const);
  }

  /** Send a call event on `key`'s socket; resolves its acknowledgement. */
  callRequest(key: string, event: string, payload: unknown): Promise<any> {
    return this.page.evaluate(([k, e, p]) => (globalThis as any).onair.callRequest(k, e, p), [
      key,
      event,
      payload,
    ] as const);
  }

  /** Go live for the call (`call:present` then `call:offer`); the preview is session `<key>:me`. */
  callPresent(key: string, callId: string): Promise<AckResult> {
    return this.page.evaluate(([k, c]) => (globalThis as any).onair.callPresent(k, c), [key, callId] as const);
  }

  /** Watch the other side's live (`call:watch` then `viewer:offer`); the remote media is session `<key>:peer`. */
  callWatch(key: string, callId: string): Promise<AckResult> {
    return this.page.evaluate(([k, c]) => (globalThis as any).onair.callWatch(k, c), [key, callId] as const);
  }

  /** Every server event `key`'s call socket received, in order. */
  callEvents(key: string): Promise<Array<[string, any]>> {
    return this.page.evaluate((k) => (globalThis as any).onair.callEvents(k), key);
  }
}

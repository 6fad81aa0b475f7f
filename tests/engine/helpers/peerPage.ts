/**
 * A Chromium page with a plain RTCPeerConnection (fake camera and microphone), signalled from the
 * test through kurento-client: the page makes the offer, the test relays SDP and candidates.
 * Served from a tiny local HTTP server so that getUserMedia has a secure (localhost) origin.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before } from 'node:test';
import kurento from 'kurento-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, newContext } from '../../../drivers/browser.js';
import { call, waitFor } from './engineHarness.js';
import { setUpValue } from '../../support/fixture.js';

const PAGE = `<!doctype html><html><body><script>
let pc; const pending = []; let remoteSet = false;
window.startPeer = async ({ send, receive, videoCodec }) => {
  pc = new RTCPeerConnection({ iceServers: [] });
  pc.onicecandidate = (e) => { if (e.candidate) window.onLocalCandidate(e.candidate.toJSON()); };
  pc.ontrack = (e) => {
    const el = document.createElement(e.track.kind);
    el.autoplay = true; el.muted = e.track.kind === 'video';
    el.srcObject = new MediaStream([e.track]);
    document.body.appendChild(el);
  };
  if (send) {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
    for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: receive ? 'sendrecv' : 'sendonly', streams: [stream] });
  } else {
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addTransceiver('video', { direction: 'recvonly' });
  }
  if (videoCodec) {
    const wanted = RTCRtpSender.getCapabilities('video').codecs.filter((c) =>
      c.mimeType === 'video/' + videoCodec && (videoCodec !== 'H264' || /packetization-mode=1/.test(c.sdpFmtpLine || '')));
    for (const t of pc.getTransceivers()) if (t.receiver.track.kind === 'video') t.setCodecPreferences(wanted);
  }
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  return offer.sdp;
};
window.answerOffer = async (sdp, { send }) => {
  pc = new RTCPeerConnection({ iceServers: [] });
  pc.onicecandidate = (e) => { if (e.candidate) window.onLocalCandidate(e.candidate.toJSON()); };
  pc.ontrack = (e) => {
    const el = document.createElement(e.track.kind);
    el.autoplay = true; el.muted = e.track.kind === 'video';
    el.srcObject = new MediaStream([e.track]);
    document.body.appendChild(el);
  };
  await pc.setRemoteDescription({ type: 'offer', sdp });
  remoteSet = true;
  for (const c of pending.splice(0)) await pc.addIceCandidate(c);
  if (send) {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
    for (const track of stream.getTracks()) pc.addTrack(track, stream);
  }
  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  return answer.sdp;
};
window.setAnswer = async (sdp) => {
  await pc.setRemoteDescription({ type: 'answer', sdp });
  remoteSet = true;
  for (const c of pending.splice(0)) await pc.addIceCandidate(c);
};
window.addCandidate = async (c) => { if (!remoteSet) pending.push(c); else await pc.addIceCandidate(c); };
window.connectionState = () => pc ? pc.connectionState + '/' + pc.iceConnectionState + '/' + pc.signalingState : 'none';
window.mediaStats = async () => {
  const out = { framesDecoded: 0, videoBytes: 0, audioBytes: 0, audioSamples: 0, framesSent: 0, videoCodec: '' };
  if (!pc) return out;
  const report = await pc.getStats();
  report.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      out.framesDecoded += s.framesDecoded || 0; out.videoBytes += s.bytesReceived || 0;
      if (s.codecId && report.get(s.codecId)) out.videoCodec = report.get(s.codecId).mimeType;
    }
    if (s.type === 'inbound-rtp' && s.kind === 'audio') { out.audioBytes += s.bytesReceived || 0; out.audioSamples += s.totalSamplesReceived || 0; }
    if (s.type === 'outbound-rtp' && s.kind === 'video') out.framesSent += s.framesSent || 0;
  });
  return out;
};
window.outgoingBitrate = async () => {
  if (!pc) return 0;
  let bps = 0;
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'candidate-pair' && s.nominated && s.availableOutgoingBitrate) bps = s.availableOutgoingBitrate;
  });
  return bps;
};
window.closePeer = () => { if (pc) pc.close(); pc = undefined; };
</script></body></html>`;

export interface MediaStats {
  framesDecoded: number;
  videoBytes: number;
  audioBytes: number;
  audioSamples: number;
  framesSent: number;
  /** Inbound video codec (e.g. video/VP8), once known. */
  videoCodec: string;
}

/** Serves the peer page; close() it in teardown. */
export async function servePeerPage(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://localhost:${(server.address() as AddressInfo).port}/`;
  return {
    url,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

export interface PeerPages {
  readonly browser: Browser;
  /** The peer page's address. */
  readonly url: string;
  /** A scratch folder for the suite's files, removed after it. */
  readonly dir: string;
  /** A new peer page, closed after the test. */
  open(): Promise<PeerPage>;
}

/**
 * A suite's browser peers: Chromium, the peer page's server and a scratch folder for the suite, and the pages a
 * test opens, closed after it. Its hooks run where it is called among the suite's own (in the order registered):
 * call it before an `afterEach` that needs the pages closed (the engine back at its baseline).
 */
export function usePeerPages(folderPrefix = 'onair-engine-'): PeerPages {
  let browser: Browser | undefined;
  let site: Awaited<ReturnType<typeof servePeerPage>> | undefined;
  let dir: string | undefined;
  const pages: PeerPage[] = [];
  before(async () => {
    browser = await launchBrowser();
    site = await servePeerPage();
    dir = await mkdtemp(path.join(os.tmpdir(), folderPrefix));
  });
  after(async () => {
    await browser?.close();
    await site?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await Promise.all(pages.splice(0).map((page) => page.close()));
  });
  const running = setUpValue('the browser peers are not set up (use them inside a test)');
  return {
    get browser() {
      return running(browser);
    },
    get url() {
      return running(site).url;
    },
    get dir() {
      return running(dir);
    },
    async open() {
      const page = await PeerPage.open(running(browser), running(site).url);
      pages.push(page);
      return page;
    },
  };
}

/** One browser peer, with the WebRtcEndpoint it talks to. */
export class PeerPage {
  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {}

  static async open(browser: Browser, url: string): Promise<PeerPage> {
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(url);
    return new PeerPage(context, page);
  }

  /**
   * Negotiates with `endpoint` (a kurento-client WebRtcEndpoint): the page offers, the endpoint answers,
   * candidates flow both ways.
   */
  async negotiate(
    endpoint: KurentoWebRtc,
    opts: { send: boolean; receive: boolean; videoCodec?: 'VP8' | 'H264' },
  ): Promise<void> {
    await this.page.exposeFunction('onLocalCandidate', (candidate: Record<string, unknown>) => {
      endpoint.addIceCandidate(iceCandidate(candidate), () => undefined);
    });
    endpoint.on('IceCandidateFound', (event: { candidate: Record<string, unknown> }) => {
      const { candidate, sdpMid, sdpMLineIndex } = event.candidate;
      void this.page
        .evaluate((c) => (globalThis as any).addCandidate(c), { candidate, sdpMid, sdpMLineIndex })
        .catch(() => undefined);
    });
    const offer = await this.page.evaluate((o) => (globalThis as any).startPeer(o), opts);
    const answer = await call<string>((cb) => endpoint.processOffer(offer, cb));
    await this.page.evaluate((sdp) => (globalThis as any).setAnswer(sdp), answer);
    await call((cb) => endpoint.gatherCandidates(cb));
  }

  /** The endpoint makes the offer (generateOffer), the page answers (processAnswer). */
  async answerOfferOf(endpoint: KurentoWebRtc, opts: { send: boolean }): Promise<void> {
    await this.page.exposeFunction('onLocalCandidate', (candidate: Record<string, unknown>) => {
      endpoint.addIceCandidate(iceCandidate(candidate), () => undefined);
    });
    endpoint.on('IceCandidateFound', (event: { candidate: Record<string, unknown> }) => {
      const { candidate, sdpMid, sdpMLineIndex } = event.candidate;
      void this.page
        .evaluate((c) => (globalThis as any).addCandidate(c), { candidate, sdpMid, sdpMLineIndex })
        .catch(() => undefined);
    });
    const offer = await call<string>((cb) => endpoint.generateOffer(cb));
    const answer = await this.page.evaluate(([sdp, o]) => (globalThis as any).answerOffer(sdp, o), [
      offer,
      opts,
    ] as const);
    await call((cb) => endpoint.processAnswer(answer, cb));
    await call((cb) => endpoint.gatherCandidates(cb));
  }

  stats(): Promise<MediaStats> {
    return this.page.evaluate(() => (globalThis as any).mediaStats());
  }

  /** The browser's estimate of the bitrate it may send (bps; REMB from the engine lowers it), 0 before any. */
  outgoingBitrate(): Promise<number> {
    return this.page.evaluate(() => (globalThis as any).outgoingBitrate());
  }

  connectionState(): Promise<string> {
    return this.page.evaluate(() => (globalThis as any).connectionState());
  }

  async close(): Promise<void> {
    await this.page.evaluate(() => (globalThis as any).closePeer()).catch(() => undefined);
    await this.context.close();
  }
}

// kurento-client has no types worth the name: the few calls the tests make.
export interface KurentoWebRtc {
  id: string;
  processOffer(offer: string, cb: (err: Error | null, answer: string) => void): void;
  generateOffer(cb: (err: Error | null, offer: string) => void): void;
  processAnswer(answer: string, cb: (err: Error | null, sdp: string) => void): void;
  gatherCandidates(cb: (err: Error | null, value?: unknown) => void): void;
  addIceCandidate(candidate: Record<string, unknown>, cb: (err: Error | null) => void): void;
  on(event: string, listener: (event: any) => void): void;
}

const iceCandidate = kurento.getComplexType('IceCandidate') as (c: Record<string, unknown>) => Record<string, unknown>;

/** Waits until a page has decoded `frames` more video frames and received more audio samples than in `from`. */
export function decoding(
  page: PeerPage,
  what: string,
  from?: MediaStats,
  frames = 10,
  timeoutMs = 30_000,
): Promise<MediaStats> {
  return waitFor(
    `${what} to decode video and play audio`,
    async () => {
      const stats = await page.stats();
      const base = from ?? { framesDecoded: 0, audioSamples: 0 };
      return stats.framesDecoded >= base.framesDecoded + frames && stats.audioSamples > base.audioSamples
        ? stats
        : undefined;
    },
    timeoutMs,
    250,
  );
}

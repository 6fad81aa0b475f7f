/**
 * A WHIP publisher and a WHEP player on werift (no browser), as an encoder or a player would speak to onair: one
 * non-trickle offer (candidates gathered first) POSTed as application/sdp, the 201's answer applied, DELETE on the
 * Location at the end. The publisher sends the smoke clip's VP8 and Opus RTP; the player counts what arrives and
 * keeps the first whole VP8 keyframe (ReceivedMedia).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ALL_FORMATS, EncodedPacketSink, FilePathSource, Input } from 'mediabunny';
import type { RTCPeerConnection, RtpPacket } from 'werift';
import { parseAvcC, type AvcC } from '../media/engine/recording/codecs/H264.js';
import { RtpPacketizer } from '../media/engine/recording/RtpPacketizer.js';
import { CLIP, ClipSender, ReceivedMedia, type Clip, type CodedFrame } from '../smoke/media.js';
import { gatheredOffer, H264_PAYLOAD_TYPE, transceiverSink, weriftPeer } from '../smoke/peer.js';

const run = promisify(execFile);

export { H264_PAYLOAD_TYPE } from '../smoke/peer.js';

/** An H.264 (constrained baseline, as OBS's default x264) + Opus clip, with its avcC. */
export interface H264Clip extends Clip {
  avcC: AvcC;
}

/** Writes the smoke clip's test pattern and tone as H.264 (baseline, no B-frames, a keyframe every 0.5 s) + Opus. */
export async function makeH264Clip(dir: string): Promise<H264Clip> {
  const file = path.join(dir, 'whip-h264.mkv');
  const { width, height, fps, seconds } = CLIP;
  // prettier-ignore
  await run('ffmpeg', [
    '-v', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc=size=${width}x${height}:rate=${fps}`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds),
    '-c:v', 'libx264', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-tune', 'zerolatency', '-bf', '0',
    '-g', String(fps / 2), '-keyint_min', String(fps / 2), '-sc_threshold', '0',
    '-c:a', 'libopus', '-b:a', '32k',
    file,
  ]);
  const input = new Input({ source: new FilePathSource(file), formats: ALL_FORMATS });
  try {
    const videoTrack = await input.getPrimaryVideoTrack();
    const audioTrack = await input.getPrimaryAudioTrack();
    if (videoTrack?.codec !== 'avc' || audioTrack?.codec !== 'opus') throw new Error(`${file}: not H.264 + Opus`);
    const config = await videoTrack.getDecoderConfig();
    const description = config?.description;
    const avcC = description
      ? parseAvcC(
          ArrayBuffer.isView(description)
            ? new Uint8Array(description.buffer, description.byteOffset, description.byteLength)
            : new Uint8Array(description),
        )
      : undefined;
    if (!avcC) throw new Error(`${file}: no avcC`);
    const frames = async (track: typeof videoTrack | typeof audioTrack) => {
      const out: CodedFrame[] = [];
      for await (const packet of new EncodedPacketSink(track).packets())
        out.push({ ms: Math.max(0, packet.timestamp * 1000), data: packet.data, key: packet.type === 'key' });
      return out;
    };
    const video = await frames(videoTrack);
    const audio = await frames(audioTrack);
    const durationMs = Math.max(video.at(-1)!.ms + 1000 / fps, audio.at(-1)?.ms ?? 0);
    return { file, video, audio, durationMs, width, height, avcC };
  } finally {
    input.dispose();
  }
}

/** Sends an H.264 clip as an encoder would (FU-A, SPS/PPS ahead of each IDR), paced and looped, with its Opus. */
class H264ClipSender {
  readonly #clip: H264Clip;
  readonly #sink: { video: (p: RtpPacket) => void; audio: (p: RtpPacket) => void };
  readonly #video: RtpPacketizer;
  readonly #audio = new RtpPacketizer({ kind: 'audio', codec: 'OPUS', clockRate: 48_000 }, { maxPayload: 1100 });
  #timer: NodeJS.Timeout | undefined;
  #startedAt = 0;
  #next = { video: 0, audio: 0 };
  #loops = { video: 0, audio: 0 };
  videoFrames = 0;

  constructor(clip: H264Clip, sink: { video: (p: RtpPacket) => void; audio: (p: RtpPacket) => void }) {
    this.#clip = clip;
    this.#sink = sink;
    this.#video = new RtpPacketizer(
      { kind: 'video', codec: 'H264', clockRate: 90_000 },
      { maxPayload: 1100, avcC: clip.avcC },
    );
  }

  start(): void {
    if (this.#timer) return;
    this.#startedAt = performance.now();
    this.#timer = setInterval(() => this.#pump(), 10);
    this.#pump();
  }

  #pump(): void {
    const elapsed = performance.now() - this.#startedAt;
    for (const kind of ['video', 'audio'] as const) {
      const frames = this.#clip[kind];
      for (;;) {
        const frame = frames[this.#next[kind]];
        if (!frame) {
          this.#next[kind] = 0;
          this.#loops[kind] += 1;
          continue;
        }
        const at = this.#loops[kind] * this.#clip.durationMs + frame.ms;
        if (at > elapsed) break;
        const packetizer = kind === 'video' ? this.#video : this.#audio;
        for (const packet of packetizer.packetize(frame.data, packetizer.timestampAt(at), frame.key))
          this.#sink[kind](packet);
        if (kind === 'video') this.videoFrames += 1;
        this.#next[kind] += 1;
      }
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

export interface WhipAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The Location, resolved against the server. */
  location: string | null;
}

export class WhipPeer {
  readonly pc: RTCPeerConnection;
  readonly received = new ReceivedMedia();
  readonly #sender: ClipSender | H264ClipSender | undefined;
  #location: string | null = null;
  #closed = false;

  /** H.264 received: whether an IDR picture (a keyframe) arrived. */
  idrReceived = false;

  private constructor(clip: Clip | H264Clip | null, playerVideo: 'VP8' | 'H264' = 'VP8') {
    const h264 = clip !== null ? 'avcC' in clip : playerVideo === 'H264';
    const { pc, audio, video } = weriftPeer(
      { bundlePolicy: 'max-bundle', video: h264 ? 'H264' : 'VP8' },
      clip ? 'sendonly' : 'recvonly',
      (kind, packet) => {
        if (kind === 'audio') return this.received.onAudio(packet);
        this.received.onVideo(packet);
        if (packet.header.payloadType === H264_PAYLOAD_TYPE && isIdr(packet.payload)) this.idrReceived = true;
      },
    );
    this.pc = pc;
    if (clip) {
      const sink = transceiverSink(audio, video);
      this.#sender = 'avcC' in clip ? new H264ClipSender(clip, sink) : new ClipSender(clip, sink);
    }
  }

  /** A WHIP encoder sending `clip` (VP8, or H.264 for an H264Clip). */
  static publisher(clip: Clip | H264Clip): WhipPeer {
    return new WhipPeer(clip);
  }

  /** A WHEP player that takes VP8 (default) or only H.264. */
  static player(video: 'VP8' | 'H264' = 'VP8'): WhipPeer {
    return new WhipPeer(null, video);
  }

  get connectionState(): string {
    return this.pc.connectionState;
  }

  get sentFrames(): number {
    return this.#sender?.videoFrames ?? 0;
  }

  /** The offer with every candidate in it (a non-trickle client). */
  gatheredOffer(): Promise<string> {
    return gatheredOffer(this.pc);
  }

  /** POST the offer to `url` with `token` as Bearer; applies a 201's answer and starts sending. */
  async connect(url: string, token: string): Promise<WhipAnswer> {
    const offer = await this.gatheredOffer();
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/sdp' },
      body: offer,
    });
    const text = await response.text();
    const location = response.headers.get('location');
    this.#location = location ? new URL(location, url).href : null;
    if (response.status === 201) {
      await this.pc.setRemoteDescription({ type: 'answer', sdp: text });
      this.#sender?.start();
    }
    return { status: response.status, headers: response.headers, text, location: this.#location };
  }

  /** Start sending the clip (connect does it after a 201; for callers that POST the offer themselves). */
  start(): void {
    this.#sender?.start();
  }

  /** DELETE on the session's Location; resolves the status. */
  async hangUp(): Promise<number> {
    if (!this.#location) return 0;
    const response = await fetch(this.#location, { method: 'DELETE' });
    await response.arrayBuffer();
    return response.status;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#sender?.stop();
    await this.pc.close().catch(() => undefined);
  }
}

/** Whether an H.264 RTP payload starts an IDR picture (single NAL, STAP-A holding one, or the first FU-A part). */
function isIdr(payload: Buffer): boolean {
  const type = (payload[0] ?? 0) & 0x1f;
  if (type === 5) return true;
  if (type === 28) return ((payload[1] ?? 0) & 0x80) !== 0 && ((payload[1] ?? 0) & 0x1f) === 5;
  if (type === 24) {
    for (let at = 1; at + 2 < payload.length;) {
      const size = payload.readUInt16BE(at);
      if (((payload[at + 2] ?? 0) & 0x1f) === 5) return true;
      at += 2 + size;
    }
  }
  return false;
}

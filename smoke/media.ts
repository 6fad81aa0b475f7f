/**
 * The synthetic camera and microphone of the smoke check: a short VP8 + Opus WebM clip (made at run time with
 * ffmpeg, or given with --media), demuxed by mediabunny into coded frames, then cut into RTP packets as a browser
 * would send them (RFC 7741 VP8 payload descriptors with picture ids, one Opus frame per packet), paced against the
 * clock and looped. On the receiving side, `ReceivedMedia` counts what arrives and puts the first whole VP8
 * keyframe back together so that it can be checked (and decoded by ffmpeg when there is one).
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ALL_FORMATS, EncodedPacketSink, FilePathSource, Input } from 'mediabunny';
import { RtpHeader, RtpPacket } from 'werift';

const run = promisify(execFile);

export const CLIP = { width: 320, height: 240, fps: 20, seconds: 6 } as const;

export interface CodedFrame {
  /** Presentation time from the start of the clip (ms). */
  ms: number;
  data: Uint8Array;
  key: boolean;
}

export interface Clip {
  file: string;
  video: CodedFrame[];
  audio: CodedFrame[];
  /** Length of one loop (ms). */
  durationMs: number;
  width: number;
  height: number;
}

/** Whether a command is on the PATH (ffmpeg, ffprobe). */
export async function hasCommand(command: string): Promise<boolean> {
  try {
    await run(command, ['-version']);
    return true;
  } catch {
    return false;
  }
}

/** Writes a small test-pattern + tone clip into `dir` with ffmpeg; a keyframe every half second. */
export async function makeClip(dir: string): Promise<string> {
  const file = path.join(dir, 'smoke-source.webm');
  const { width, height, fps, seconds } = CLIP;
  try {
    await run('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `testsrc=size=${width}x${height}:rate=${fps}`,
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=48000',
      '-t',
      String(seconds),
      '-c:v',
      'libvpx',
      '-deadline',
      'realtime',
      '-cpu-used',
      '8',
      '-b:v',
      '300k',
      '-g',
      String(fps / 2),
      '-c:a',
      'libopus',
      '-b:a',
      '32k',
      file,
    ]);
  } catch (error) {
    const reason = (error as { code?: string; stderr?: string }).code === 'ENOENT' ? 'ffmpeg is not installed' : '';
    throw new Error(
      `${reason || `ffmpeg failed: ${String((error as { stderr?: string }).stderr ?? error).trim()}`}; ` +
        'install ffmpeg (with libvpx and libopus) or pass --media <a VP8 + Opus WebM file>',
      { cause: error },
    );
  }
  return file;
}

/** Demuxes a WebM's VP8 and Opus tracks into frames; throws saying what is missing. */
export async function readClip(file: string): Promise<Clip> {
  const input = new Input({ source: new FilePathSource(file), formats: ALL_FORMATS });
  try {
    const videoTrack = await input.getPrimaryVideoTrack();
    const audioTrack = await input.getPrimaryAudioTrack();
    if (videoTrack?.codec !== 'vp8')
      throw new Error(`${file}: no VP8 video track (found ${videoTrack?.codec ?? 'none'})`);
    if (audioTrack?.codec !== 'opus')
      throw new Error(`${file}: no Opus audio track (found ${audioTrack?.codec ?? 'none'})`);
    const frames = async (track: typeof videoTrack | typeof audioTrack) => {
      const out: CodedFrame[] = [];
      for await (const packet of new EncodedPacketSink(track).packets()) {
        out.push({ ms: Math.max(0, packet.timestamp * 1000), data: packet.data, key: packet.type === 'key' });
      }
      return out;
    };
    const video = await frames(videoTrack);
    const audio = await frames(audioTrack);
    if (!video[0]?.key) throw new Error(`${file}: the video does not start with a keyframe`);
    const durationMs = Math.max(video.at(-1)!.ms + 1000 / CLIP.fps, audio.at(-1)?.ms ?? 0) || 1000;
    return { file, video, audio, durationMs, width: videoTrack.codedWidth, height: videoTrack.codedHeight };
  } finally {
    input.dispose();
  }
}

const MAX_PAYLOAD = 1100;
export const VP8_PAYLOAD_TYPE = 96;
export const OPUS_PAYLOAD_TYPE = 111;

/** RTP for one track: random SSRC, sequence and timestamp base, as a browser's. */
class Packetizer {
  readonly #clockRate: number;
  readonly #payloadType: number;
  readonly #timestampBase = randomInt(0, 2 ** 32 - 1);
  #sequence = randomInt(0, 0xffff);
  #pictureId = randomInt(0, 0x7fff);
  readonly ssrc = randomInt(1, 2 ** 32 - 1);

  constructor(kind: 'video' | 'audio') {
    this.#clockRate = kind === 'video' ? 90_000 : 48_000;
    this.#payloadType = kind === 'video' ? VP8_PAYLOAD_TYPE : OPUS_PAYLOAD_TYPE;
  }

  #packet(payload: Buffer, ms: number, marker: boolean): RtpPacket {
    const header = new RtpHeader({
      payloadType: this.#payloadType,
      sequenceNumber: this.#sequence,
      timestamp: (this.#timestampBase + Math.round((ms * this.#clockRate) / 1000)) % 2 ** 32,
      ssrc: this.ssrc,
      marker,
    });
    this.#sequence = (this.#sequence + 1) & 0xffff;
    return new RtpPacket(header, payload);
  }

  /** A VP8 frame in packets of at most MAX_PAYLOAD bytes: 4-byte descriptor (S bit on the first, 15-bit picture id). */
  vp8(frame: Uint8Array, ms: number): RtpPacket[] {
    const pictureId = this.#pictureId;
    this.#pictureId = (this.#pictureId + 1) & 0x7fff;
    const chunk = MAX_PAYLOAD - 4;
    const packets: RtpPacket[] = [];
    for (let offset = 0; offset < frame.byteLength; offset += chunk) {
      const descriptor = Buffer.from([offset === 0 ? 0x90 : 0x80, 0x80, 0x80 | (pictureId >> 8), pictureId & 0xff]);
      const part = Buffer.from(frame.subarray(offset, offset + chunk));
      packets.push(this.#packet(Buffer.concat([descriptor, part]), ms, offset + chunk >= frame.byteLength));
    }
    return packets;
  }

  opus(frame: Uint8Array, ms: number, first: boolean): RtpPacket {
    return this.#packet(Buffer.from(frame), ms, first);
  }
}

export interface RtpSink {
  video(packet: RtpPacket): void;
  audio(packet: RtpPacket): void;
}

/** Sends a clip's frames as RTP in real time, looping, until stopped. */
export class ClipSender {
  readonly #clip: Clip;
  readonly #sink: RtpSink;
  readonly #video = new Packetizer('video');
  readonly #audio = new Packetizer('audio');
  #timer: NodeJS.Timeout | undefined;
  #startedAt = 0;
  #next = { video: 0, audio: 0 };
  #loops = { video: 0, audio: 0 };
  videoFrames = 0;
  audioFrames = 0;

  constructor(clip: Clip, sink: RtpSink) {
    this.#clip = clip;
    this.#sink = sink;
  }

  start(): void {
    if (this.#timer) return;
    this.#startedAt = performance.now();
    this.#timer = setInterval(() => this.#pump(), 10);
    this.#pump();
  }

  #pump(): void {
    const elapsed = performance.now() - this.#startedAt;
    const { video, audio, durationMs } = this.#clip;
    for (;;) {
      const frame = video[this.#next.video];
      if (!frame) {
        this.#next.video = 0;
        this.#loops.video += 1;
        continue;
      }
      const at = this.#loops.video * durationMs + frame.ms;
      if (at > elapsed) break;
      for (const packet of this.#video.vp8(frame.data, at)) this.#sink.video(packet);
      this.videoFrames += 1;
      this.#next.video += 1;
    }
    for (;;) {
      if (audio.length === 0) break;
      const frame = audio[this.#next.audio];
      if (!frame) {
        this.#next.audio = 0;
        this.#loops.audio += 1;
        continue;
      }
      const at = this.#loops.audio * durationMs + frame.ms;
      if (at > elapsed) break;
      this.#sink.audio(this.#audio.opus(frame.data, at, this.audioFrames === 0));
      this.audioFrames += 1;
      this.#next.audio += 1;
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** What one receiving peer got: packet counts per kind, and the first whole VP8 keyframe. */
export class ReceivedMedia {
  video = 0;
  audio = 0;
  videoBytes = 0;
  firstPacketAt = 0;
  keyframe: { width: number; height: number; data: Buffer } | undefined;
  #frame: { timestamp: number; nextSequence: number; parts: Buffer[] } | undefined;

  onVideo(packet: RtpPacket): void {
    this.video += 1;
    this.videoBytes += packet.payload.length;
    this.firstPacketAt ||= performance.now();
    if (!this.keyframe) this.#assemble(packet);
  }

  onAudio(_packet: RtpPacket): void {
    this.audio += 1;
    this.firstPacketAt ||= performance.now();
  }

  #assemble(packet: RtpPacket): void {
    const { payload, header } = packet;
    const descriptor = vp8DescriptorLength(payload);
    if (descriptor === undefined) return;
    const start = (payload[0]! & 0x10) !== 0 && (payload[0]! & 0x07) === 0;
    if (start) {
      this.#frame = { timestamp: header.timestamp, nextSequence: header.sequenceNumber, parts: [] };
    }
    const frame = this.#frame;
    if (!frame || frame.timestamp !== header.timestamp || frame.nextSequence !== header.sequenceNumber) {
      this.#frame = undefined; // a gap: wait for the next frame's start
      return;
    }
    frame.parts.push(payload.subarray(descriptor));
    frame.nextSequence = (frame.nextSequence + 1) & 0xffff;
    if (!header.marker) return;
    this.#frame = undefined;
    const data = Buffer.concat(frame.parts);
    const size = vp8KeyframeSize(data);
    if (size) this.keyframe = { ...size, data };
  }
}

/** Bytes of RFC 7741 payload descriptor, or undefined when the payload is shorter than it announces. */
function vp8DescriptorLength(payload: Buffer): number | undefined {
  if (payload.length < 1) return undefined;
  let length = 1;
  if (payload[0]! & 0x80) {
    const extension = payload[1];
    if (extension === undefined) return undefined;
    length = 2;
    if (extension & 0x80) length += (payload[length] ?? 0) & 0x80 ? 2 : 1;
    if (extension & 0x40) length += 1;
    if (extension & 0x30) length += 1;
  }
  return length < payload.length ? length : undefined;
}

/** The picture size of a VP8 keyframe (frame tag with P = 0, start code 9d 01 2a), else undefined. */
export function vp8KeyframeSize(frame: Uint8Array): { width: number; height: number } | undefined {
  if (frame.byteLength < 10 || (frame[0]! & 0x01) !== 0) return undefined;
  if (frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return undefined;
  const width = (frame[6]! | (frame[7]! << 8)) & 0x3fff;
  const height = (frame[8]! | (frame[9]! << 8)) & 0x3fff;
  return width > 0 && height > 0 ? { width, height } : undefined;
}

/** Decodes one VP8 frame with ffmpeg (as a one-frame IVF file); throws with ffmpeg's complaint. */
export async function decodeVp8Frame(dir: string, frame: Buffer, width: number, height: number): Promise<void> {
  const header = Buffer.alloc(32);
  header.write('DKIF', 0, 'latin1');
  header.writeUInt16LE(0, 4);
  header.writeUInt16LE(32, 6);
  header.write('VP80', 8, 'latin1');
  header.writeUInt16LE(width, 12);
  header.writeUInt16LE(height, 14);
  header.writeUInt32LE(CLIP.fps, 16);
  header.writeUInt32LE(1, 20);
  header.writeUInt32LE(1, 24);
  const frameHeader = Buffer.alloc(12);
  frameHeader.writeUInt32LE(frame.length, 0);
  const file = path.join(dir, `received-keyframe-${randomBytes(4).toString('hex')}.ivf`);
  await writeFile(file, Buffer.concat([header, frameHeader, frame]));
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-xerror', '-f', 'ivf', '-i', file, '-f', 'framemd5', '-']);
  if (!/^\d+,/m.test(stdout)) throw new Error('ffmpeg decoded no picture from the received keyframe');
}

/**
 * A source's current group of pictures: the video packets it forwarded from its last keyframe on, so
 * that a new sink can decode a first frame at once instead of waiting for the presenter's next keyframe.
 *
 * The replay keeps the packets' sequence numbers (the live packets that follow continue them) and
 * squeezes their timestamps into one tick apiece just before the newest cached frame's: the receiver
 * decodes the whole group as fast as it arrives and renders the newest frame, instead of replaying
 * seconds of old video and staying that far behind the live. Bounded in packets and bytes: a group
 * that outgrows the bounds is dropped until the next keyframe (new sinks then ask for a keyframe).
 * A change of SSRC or codec also starts over. Cached packets are shared and never modified.
 */
import { RtpHeader, RtpPacket } from 'werift';
import type { CodecName, TrackInfo } from './MediaTypes.js';

export interface GopBounds {
  maxPackets: number;
  maxBytes: number;
}

/** About 10 s of 560 kbps video or 3 s of 2.5 Mbps, per source (the packets are shared by every sink). */
export const DEFAULT_GOP_BOUNDS: GopBounds = { maxPackets: 1500, maxBytes: 2 * 1024 * 1024 };

/** RTP timestamp distance between two replayed frames (one tick of the 90 kHz clock). */
const REPLAY_TICK = 1;

export class GopCache {
  readonly #bounds: GopBounds;
  #packets: RtpPacket[] = [];
  #bytes = 0;
  #track: TrackInfo | undefined;
  #ssrc: number | undefined;
  /** Index in #packets of the first packet of the frame being received. */
  #frameStart = 0;
  #frameTs: number | undefined;
  /** True while the packets since the last keyframe are in the cache (false after an overflow or a reset). */
  #complete = false;
  #replay: RtpPacket[] | undefined;

  constructor(bounds: GopBounds = DEFAULT_GOP_BOUNDS) {
    this.#bounds = bounds;
  }

  /** Packets a replay would send now (0 when there is no usable group). */
  get size(): number {
    return this.#complete ? this.#packets.length : 0;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** How much video the group spans, from its keyframe to its newest frame (ms); 0 without a group. */
  get spanMs(): number {
    const first = this.#packets[0];
    const last = this.#packets.at(-1);
    if (!this.#complete || !first || !last || !this.#track) return 0;
    return (((last.header.timestamp - first.header.timestamp) >>> 0) * 1000) / this.#track.clockRate;
  }

  /** Records a packet the source forwards. */
  push(packet: RtpPacket, track: TrackInfo): void {
    if (this.#bounds.maxBytes === 0 || this.#bounds.maxPackets === 0) return;
    const { ssrc, timestamp } = packet.header;
    if (ssrc !== this.#ssrc || track.codec !== this.#track?.codec) {
      this.clear();
      this.#ssrc = ssrc;
      this.#track = track;
    }
    if (timestamp !== this.#frameTs) {
      this.#frameTs = timestamp;
      this.#frameStart = this.#packets.length;
    }
    if (isKeyframeStart(track.codec, packet.payload) && !(this.#complete && this.#frameStart === 0)) {
      // A new group: keep only the packets of this keyframe's own frame received so far.
      this.#packets = this.#packets.slice(this.#frameStart);
      this.#bytes = this.#packets.reduce((n, p) => n + p.payload.length, 0);
      this.#frameStart = 0;
      this.#complete = true;
    }
    if (!this.#complete) return;
    this.#packets.push(packet);
    this.#bytes += packet.payload.length;
    this.#replay = undefined;
    if (this.#packets.length > this.#bounds.maxPackets || this.#bytes > this.#bounds.maxBytes) this.#drop();
  }

  /**
   * The cached group as a new sink should get it: copies with the same sequence numbers and payloads, timestamps
   * one tick apart ending at the newest frame's. Empty when there is no complete group.
   */
  replay(): { packets: readonly RtpPacket[]; track: TrackInfo } | undefined {
    if (!this.#complete || this.#packets.length === 0 || !this.#track) return undefined;
    this.#replay ??= squeeze(this.#packets);
    return { packets: this.#replay, track: this.#track };
  }

  clear(): void {
    this.#drop();
    this.#ssrc = undefined;
    this.#track = undefined;
    this.#frameTs = undefined;
  }

  #drop(): void {
    this.#packets = [];
    this.#bytes = 0;
    this.#frameStart = 0;
    this.#complete = false;
    this.#replay = undefined;
  }
}

function squeeze(packets: readonly RtpPacket[]): RtpPacket[] {
  let frames = 0;
  let previous: number | undefined;
  for (const p of packets) {
    if (p.header.timestamp !== previous) frames += 1;
    previous = p.header.timestamp;
  }
  const last = packets.at(-1)!.header.timestamp;
  let frame = -1;
  previous = undefined;
  return packets.map((p) => {
    const h = p.header;
    if (h.timestamp !== previous) frame += 1;
    previous = h.timestamp;
    const timestamp = (last - (frames - 1 - frame) * REPLAY_TICK) >>> 0;
    const header = new RtpHeader({
      payloadType: h.payloadType,
      sequenceNumber: h.sequenceNumber,
      timestamp,
      ssrc: h.ssrc,
      marker: h.marker,
    });
    return new RtpPacket(header, p.payload);
  });
}

/** Whether an RTP payload is the first packet of a keyframe (VP8: RFC 7741; H.264: RFC 6184, SPS or IDR). */
export function isKeyframeStart(codec: CodecName, payload: Buffer): boolean {
  if (codec === 'VP8') return isVp8KeyframeStart(payload);
  if (codec === 'H264') return isH264KeyframeStart(payload);
  return false;
}

function isVp8KeyframeStart(p: Buffer): boolean {
  if (p.length < 2) return false;
  const b0 = p[0]!;
  // S (start of partition) and PID 0: the packet starts the frame.
  if ((b0 & 0x10) === 0 || (b0 & 0x07) !== 0) return false;
  let i = 1;
  if (b0 & 0x80) {
    const x = p[i++]!;
    if (x & 0x80) i += (p[i]! & 0x80) !== 0 ? 2 : 1; // I: PictureID, 7 or 15 bits
    if (x & 0x40) i += 1; // L: TL0PICIDX
    if (x & 0x30) i += 1; // T or K: TID/Y/KEYIDX
  }
  if (i >= p.length) return false;
  // VP8 payload header: P (inverse key frame flag) is the lowest bit.
  return (p[i]! & 0x01) === 0;
}

function isH264KeyframeStart(p: Buffer): boolean {
  if (p.length < 2) return false;
  const type = p[0]! & 0x1f;
  if (type === 5 || type === 7) return true;
  if (type === 24) {
    // STAP-A: 16-bit sizes, each followed by a NAL unit.
    for (let i = 1; i + 2 < p.length;) {
      const size = p.readUInt16BE(i);
      const nal = p[i + 2]! & 0x1f;
      if (nal === 5 || nal === 7) return true;
      i += 2 + size;
    }
    return false;
  }
  // FU-A: the start fragment of an IDR.
  if (type === 28) return (p[1]! & 0x80) !== 0 && (p[1]! & 0x1f) === 5;
  return false;
}

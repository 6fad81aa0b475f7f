import { randomInt } from 'node:crypto';
import { RtpHeader, RtpPacket } from 'werift';
import { NAL, nalType, splitLengthPrefixed, type AvcC } from './codecs/H264.js';
import { writeVp8Descriptor } from './codecs/Vp8.js';
import type { TrackInfo } from './types.js';

/** Payload types used until the engine rewrites them for each sink. */
const PAYLOAD_TYPES = { VP8: 96, H264: 102, OPUS: 111 } as const;
const FU_A_HEADER = 2;
const VP8_DESCRIPTOR = 4;

/**
 * Turns one track's coded frames into RTP packets: its own random SSRC, sequence numbers and timestamp base,
 * marker bits (last packet of a video frame, first audio packet of a talk spurt), VP8 payload descriptors with
 * picture ids, H.264 single NAL unit / FU-A packets (SPS and PPS sent ahead of each IDR picture), Opus as is.
 */
export class RtpPacketizer {
  readonly track: TrackInfo;
  readonly ssrc = randomInt(1, 2 ** 32 - 1);
  readonly #maxPayload: number;
  readonly #avcC: AvcC | undefined;
  readonly #timestampBase = randomInt(0, 2 ** 32 - 1);
  #sequence = randomInt(0, 0xffff);
  #pictureId = randomInt(0, 0x7fff);
  #talkSpurt = true;

  constructor(track: TrackInfo, options: { maxPayload: number; avcC?: AvcC }) {
    this.track = track;
    this.#maxPayload = options.maxPayload;
    this.#avcC = options.avcC;
  }

  /** The RTP timestamp of a media time (ms since the track's timeline began). */
  timestampAt(ms: number): number {
    return (this.#timestampBase + Math.round((ms * this.track.clockRate) / 1000)) % 2 ** 32;
  }

  /** The next audio packet starts a talk spurt (after a pause or a restart). */
  markDiscontinuity(): void {
    this.#talkSpurt = true;
  }

  packetize(frame: Uint8Array, timestamp: number, keyframe: boolean): RtpPacket[] {
    if (this.track.codec === 'VP8') return this.#vp8(frame, timestamp);
    if (this.track.codec === 'H264') return this.#h264(frame, timestamp, keyframe);
    const marker = this.#talkSpurt;
    this.#talkSpurt = false;
    return [this.#packet(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength), timestamp, marker)];
  }

  #vp8(frame: Uint8Array, timestamp: number): RtpPacket[] {
    const pictureId = this.#pictureId;
    this.#pictureId = (this.#pictureId + 1) & 0x7fff;
    const chunk = this.#maxPayload - VP8_DESCRIPTOR;
    const packets: RtpPacket[] = [];
    for (let offset = 0; offset < frame.byteLength || offset === 0; offset += chunk) {
      const part = frame.subarray(offset, offset + chunk);
      const payload = Buffer.concat([writeVp8Descriptor(offset === 0, pictureId), part]);
      packets.push(this.#packet(payload, timestamp, offset + chunk >= frame.byteLength));
    }
    return packets;
  }

  #h264(frame: Uint8Array, timestamp: number, keyframe: boolean): RtpPacket[] {
    const lengthSize = this.#avcC?.lengthSize ?? 4;
    const nals = splitLengthPrefixed(frame, lengthSize) ?? [];
    const types = new Set(nals.map(nalType));
    const parameterSets = keyframe && this.#avcC && !types.has(NAL.SPS) ? [...this.#avcC.sps, ...this.#avcC.pps] : [];
    const units = [...parameterSets, ...nals].filter((nal) => nal.byteLength > 0);
    const payloads: Buffer[] = [];
    for (const nal of units) {
      if (nal.byteLength <= this.#maxPayload) {
        payloads.push(Buffer.from(nal));
        continue;
      }
      const indicator = (nal[0]! & 0xe0) | NAL.FU_A;
      const type = nal[0]! & 0x1f;
      const chunk = this.#maxPayload - FU_A_HEADER;
      for (let offset = 1; offset < nal.byteLength; offset += chunk) {
        const start = offset === 1 ? 0x80 : 0;
        const end = offset + chunk >= nal.byteLength ? 0x40 : 0;
        payloads.push(
          Buffer.concat([Uint8Array.of(indicator, start | end | type), nal.subarray(offset, offset + chunk)]),
        );
      }
    }
    return payloads.map((payload, index) => this.#packet(payload, timestamp, index === payloads.length - 1));
  }

  #packet(payload: Buffer, timestamp: number, marker: boolean): RtpPacket {
    const header = new RtpHeader({
      payloadType: PAYLOAD_TYPES[this.track.codec],
      sequenceNumber: this.#sequence,
      timestamp,
      ssrc: this.ssrc,
      marker,
    });
    this.#sequence = (this.#sequence + 1) & 0xffff;
    return new RtpPacket(header, payload);
  }
}

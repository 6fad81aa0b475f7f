import type { RtpPacket } from 'werift';
import type { AssembledFrame, FrameAssembler } from './FrameAssembler.js';
import { NAL, joinLengthPrefixed, nalType } from './codecs/H264.js';
import { concat } from './Ebml.js';

interface PartialFrame {
  rtpTimestamp: number;
  nals: Uint8Array[];
  /** Fragments of a FU-A NAL unit in progress (its rebuilt header first). */
  fragments: Uint8Array[] | undefined;
  broken: boolean;
}

/**
 * H.264 access units from RTP (single NAL unit, STAP-A and FU-A packets), as length-prefixed NAL units.
 * Remembers the latest SPS and PPS, which a recording needs before its first IDR picture.
 */
export class H264Assembler implements FrameAssembler {
  #current: PartialFrame | undefined;
  #lossSinceLastFrame = false;
  sps: Uint8Array | undefined;
  pps: Uint8Array | undefined;

  push(packet: RtpPacket, gapBefore: boolean): AssembledFrame[] {
    const out: AssembledFrame[] = [];
    const payload = packet.payload;
    if (gapBefore) {
      this.#lossSinceLastFrame = true;
      if (this.#current) this.#current.broken = true;
    }
    if (payload.byteLength === 0) return out;
    const timestamp = packet.header.timestamp;
    if (this.#current && this.#current.rtpTimestamp !== timestamp) {
      if (!gapBefore) this.#finish(out);
      else this.#drop();
    }
    const frame = (this.#current ??= { rtpTimestamp: timestamp, nals: [], fragments: undefined, broken: false });
    this.#depacketize(frame, payload);
    if (packet.header.marker) this.#finish(out);
    return out;
  }

  reset(): void {
    this.#current = undefined;
    this.#lossSinceLastFrame = true;
  }

  #depacketize(frame: PartialFrame, payload: Uint8Array): void {
    const type = nalType(payload);
    if (type >= 1 && type <= 23) {
      if (frame.fragments) frame.broken = true;
      frame.fragments = undefined;
      frame.nals.push(payload);
    } else if (type === NAL.STAP_A) {
      let offset = 1;
      while (offset + 2 <= payload.byteLength) {
        const size = (payload[offset]! << 8) | payload[offset + 1]!;
        offset += 2;
        if (size === 0 || offset + size > payload.byteLength) {
          frame.broken = true;
          return;
        }
        frame.nals.push(payload.subarray(offset, offset + size));
        offset += size;
      }
    } else if (type === NAL.FU_A && payload.byteLength > 2) {
      const header = payload[1]!;
      if (header & 0x80) {
        if (frame.fragments) frame.broken = true;
        frame.fragments = [Uint8Array.of((payload[0]! & 0xe0) | (header & 0x1f))];
      } else if (!frame.fragments) {
        frame.broken = true;
        return;
      }
      frame.fragments.push(payload.subarray(2));
      if (header & 0x40) {
        frame.nals.push(concat(frame.fragments));
        frame.fragments = undefined;
      }
    } else {
      frame.broken = true; // interleaved-mode packets (STAP-B, MTAP, FU-B) are not used by WebRTC
    }
  }

  #drop(): void {
    this.#current = undefined;
    this.#lossSinceLastFrame = true;
  }

  #finish(out: AssembledFrame[]): void {
    const frame = this.#current;
    this.#current = undefined;
    if (!frame) return;
    if (frame.broken || frame.fragments || frame.nals.length === 0) {
      this.#lossSinceLastFrame = true;
      return;
    }
    let keyframe = false;
    for (const nal of frame.nals) {
      const type = nalType(nal);
      if (type === NAL.SPS) this.sps = nal;
      else if (type === NAL.PPS) this.pps = nal;
      else if (type === NAL.IDR) keyframe = true;
    }
    const continuous = !this.#lossSinceLastFrame;
    this.#lossSinceLastFrame = false;
    out.push({ rtpTimestamp: frame.rtpTimestamp, data: joinLengthPrefixed(frame.nals), keyframe, continuous });
  }
}

import type { RtpPacket } from 'werift';
import type { AssembledFrame, FrameAssembler } from './FrameAssembler.js';
import { followsPictureId, isVp8Keyframe, parseVp8Descriptor } from './codecs/Vp8.js';
import { concat } from './Ebml.js';

interface PartialFrame {
  rtpTimestamp: number;
  parts: Uint8Array[];
  /** Its first packet starts partition 0: the frame has its beginning. */
  hasStart: boolean;
  broken: boolean;
  pictureId?: number;
  pictureIdBits?: 7 | 15;
}

/**
 * VP8 frames from RTP: packets of one timestamp from the start of partition 0 to the marker, all present.
 * A frame missing a packet is dropped; the next frame says whether a whole picture went missing (picture ids).
 */
export class Vp8Assembler implements FrameAssembler {
  #current: PartialFrame | undefined;
  #lossSinceLastFrame = false;
  #last: { pictureId?: number; pictureIdBits?: 7 | 15 } | undefined;

  push(packet: RtpPacket, gapBefore: boolean): AssembledFrame[] {
    const out: AssembledFrame[] = [];
    const payload = packet.payload;
    if (gapBefore) {
      this.#lossSinceLastFrame = true;
      if (this.#current) this.#current.broken = true;
    }
    if (payload.byteLength === 0) return out; // padding
    const timestamp = packet.header.timestamp;
    if (this.#current && this.#current.rtpTimestamp !== timestamp) {
      // A new picture began without the previous one's marker: it is whole only if nothing went missing.
      if (!gapBefore) this.#finish(out);
      else this.#drop();
    }
    const descriptor = parseVp8Descriptor(payload);
    if (!descriptor) {
      this.#lossSinceLastFrame = true;
      if (this.#current) this.#current.broken = true;
      return out;
    }
    this.#current ??= {
      rtpTimestamp: timestamp,
      parts: [],
      hasStart: descriptor.start && descriptor.partitionId === 0,
      broken: false,
      ...(descriptor.pictureId === undefined
        ? {}
        : { pictureId: descriptor.pictureId, pictureIdBits: descriptor.pictureIdBits! }),
    };
    this.#current.parts.push(payload.subarray(descriptor.length));
    if (packet.header.marker) this.#finish(out);
    return out;
  }

  reset(): void {
    this.#current = undefined;
    this.#lossSinceLastFrame = true;
  }

  #drop(): void {
    this.#current = undefined;
    this.#lossSinceLastFrame = true;
  }

  #finish(out: AssembledFrame[]): void {
    const frame = this.#current;
    this.#current = undefined;
    if (!frame) return;
    if (frame.broken || !frame.hasStart) {
      this.#lossSinceLastFrame = true;
      return;
    }
    const data = frame.parts.length === 1 ? frame.parts[0]! : concat(frame.parts);
    const last = this.#last;
    const continuous =
      !this.#lossSinceLastFrame ||
      (last?.pictureId !== undefined &&
        frame.pictureId !== undefined &&
        last.pictureIdBits === frame.pictureIdBits &&
        followsPictureId(last.pictureId, frame.pictureId, frame.pictureIdBits!));
    this.#lossSinceLastFrame = false;
    this.#last = {
      ...(frame.pictureId === undefined ? {} : { pictureId: frame.pictureId, pictureIdBits: frame.pictureIdBits! }),
    };
    out.push({ rtpTimestamp: frame.rtpTimestamp, data, keyframe: isVp8Keyframe(data), continuous });
  }
}

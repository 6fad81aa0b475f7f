/** VP8 over RTP (RFC 7741): the payload descriptor, keyframe detection and the picture size of a keyframe. */

export interface Vp8Descriptor {
  /** S bit: this packet starts a VP8 partition. */
  start: boolean;
  partitionId: number;
  /** 7- or 15-bit picture id, when the sender includes one. */
  pictureId?: number;
  pictureIdBits?: 7 | 15;
  /** Bytes of descriptor before the VP8 payload. */
  length: number;
}

/** Parse the payload descriptor, or undefined when the payload is too short for what it announces. */
export function parseVp8Descriptor(payload: Uint8Array): Vp8Descriptor | undefined {
  if (payload.byteLength < 1) return undefined;
  const first = payload[0]!;
  const descriptor: Vp8Descriptor = { start: (first & 0x10) !== 0, partitionId: first & 0x07, length: 1 };
  if ((first & 0x80) === 0) return descriptor.length < payload.byteLength ? descriptor : undefined;
  if (payload.byteLength < 2) return undefined;
  const extension = payload[1]!;
  let offset = 2;
  if (extension & 0x80) {
    if (offset >= payload.byteLength) return undefined;
    if (payload[offset]! & 0x80) {
      if (offset + 1 >= payload.byteLength) return undefined;
      descriptor.pictureId = ((payload[offset]! & 0x7f) << 8) | payload[offset + 1]!;
      descriptor.pictureIdBits = 15;
      offset += 2;
    } else {
      descriptor.pictureId = payload[offset]! & 0x7f;
      descriptor.pictureIdBits = 7;
      offset += 1;
    }
  }
  if (extension & 0x40) offset += 1; // TL0PICIDX
  if (extension & 0x30) offset += 1; // TID/Y/KEYIDX
  descriptor.length = offset;
  return offset < payload.byteLength ? descriptor : undefined;
}

/** A 4-byte descriptor with a 15-bit picture id, as a sender writes it. */
export function writeVp8Descriptor(start: boolean, pictureId: number): Uint8Array {
  return Uint8Array.of(start ? 0x90 : 0x80, 0x80, 0x80 | ((pictureId >> 8) & 0x7f), pictureId & 0xff);
}

/** Whether a whole VP8 frame (the payload of the first partition onwards) is a keyframe. */
export function isVp8Keyframe(frame: Uint8Array): boolean {
  return frame.byteLength > 0 && (frame[0]! & 0x01) === 0;
}

/** The picture size a VP8 keyframe announces. */
export function vp8KeyframeSize(frame: Uint8Array): { width: number; height: number } | undefined {
  if (!isVp8Keyframe(frame) || frame.byteLength < 10) return undefined;
  if (frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return undefined;
  const width = (frame[6]! | (frame[7]! << 8)) & 0x3fff;
  const height = (frame[8]! | (frame[9]! << 8)) & 0x3fff;
  return width > 0 && height > 0 ? { width, height } : undefined;
}

/** Whether picture id `next` directly follows `previous`. */
export function followsPictureId(previous: number, next: number, bits: 7 | 15): boolean {
  return next === ((previous + 1) & ((1 << bits) - 1));
}

/**
 * H.264 as RTP (RFC 6184: single NAL unit, STAP-A, FU-A) and as WebM stores it (V_MPEG4/ISO/AVC: length-prefixed
 * NAL units, an avcC record as CodecPrivate).
 */

export const NAL = { IDR: 5, SEI: 6, SPS: 7, PPS: 8, AUD: 9, STAP_A: 24, FU_A: 28 } as const;

export function nalType(nal: Uint8Array): number {
  return nal.byteLength > 0 ? nal[0]! & 0x1f : 0;
}

/** The avcC record (ISO 14496-15 5.3.3.1) for one SPS and one PPS, with 4-byte NAL lengths. */
export function buildAvcC(sps: Uint8Array, pps: Uint8Array): Uint8Array {
  const out = new Uint8Array(11 + sps.byteLength + pps.byteLength);
  const view = new DataView(out.buffer);
  out.set([1, sps[1] ?? 0x42, sps[2] ?? 0, sps[3] ?? 0x1f, 0xff, 0xe1], 0);
  view.setUint16(6, sps.byteLength);
  out.set(sps, 8);
  out[8 + sps.byteLength] = 1;
  view.setUint16(9 + sps.byteLength, pps.byteLength);
  out.set(pps, 11 + sps.byteLength);
  return out;
}

export interface AvcC {
  lengthSize: number;
  sps: Uint8Array[];
  pps: Uint8Array[];
}

/** Parse an avcC record, or undefined when it is malformed. */
export function parseAvcC(record: Uint8Array): AvcC | undefined {
  if (record.byteLength < 7 || record[0] !== 1) return undefined;
  const lengthSize = (record[4]! & 0x03) + 1;
  const sps: Uint8Array[] = [];
  const pps: Uint8Array[] = [];
  let offset = 5;
  const readSets = (count: number, into: Uint8Array[]): boolean => {
    for (let i = 0; i < count; i++) {
      if (offset + 2 > record.byteLength) return false;
      const length = (record[offset]! << 8) | record[offset + 1]!;
      offset += 2;
      if (offset + length > record.byteLength) return false;
      into.push(record.subarray(offset, offset + length));
      offset += length;
    }
    return true;
  };
  if (!readSets(record[offset++]! & 0x1f, sps)) return undefined;
  if (offset >= record.byteLength || !readSets(record[offset++]!, pps)) return undefined;
  return { lengthSize, sps, pps };
}

/** Split length-prefixed NAL units; undefined when a length runs past the end. */
export function splitLengthPrefixed(data: Uint8Array, lengthSize: number): Uint8Array[] | undefined {
  const nals: Uint8Array[] = [];
  let offset = 0;
  while (offset < data.byteLength) {
    if (offset + lengthSize > data.byteLength) return undefined;
    let length = 0;
    for (let i = 0; i < lengthSize; i++) length = length * 256 + data[offset + i]!;
    offset += lengthSize;
    if (offset + length > data.byteLength) return undefined;
    nals.push(data.subarray(offset, offset + length));
    offset += length;
  }
  return nals;
}

/** NAL units joined with 4-byte big-endian lengths. */
export function joinLengthPrefixed(nals: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const nal of nals) size += 4 + nal.byteLength;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const nal of nals) {
    view.setUint32(offset, nal.byteLength);
    out.set(nal, offset + 4);
    offset += 4 + nal.byteLength;
  }
  return out;
}

/** Reads an RBSP (emulation prevention bytes removed) bit by bit, with Exp-Golomb codes. */
class BitReader {
  #bytes: Uint8Array;
  #bit = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  bit(): number {
    const byte = this.#bytes[this.#bit >> 3];
    if (byte === undefined) throw new RangeError('SPS ends early');
    const value = (byte >> (7 - (this.#bit & 7))) & 1;
    this.#bit++;
    return value;
  }

  bits(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++) value = value * 2 + this.bit();
    return value;
  }

  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) {
      if (++zeros > 31) throw new RangeError('bad Exp-Golomb code');
    }
    return 2 ** zeros - 1 + this.bits(zeros);
  }

  se(): number {
    const value = this.ue();
    return value % 2 === 1 ? (value + 1) / 2 : -value / 2;
  }
}

function unescapeRbsp(nal: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < nal.byteLength; i++) {
    if (i >= 2 && nal[i] === 3 && nal[i - 1] === 0 && nal[i - 2] === 0) continue;
    out.push(nal[i]!);
  }
  return Uint8Array.from(out);
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** The cropped picture size an SPS announces, or undefined if it cannot be read. */
export function spsPictureSize(sps: Uint8Array): { width: number; height: number } | undefined {
  try {
    const r = new BitReader(unescapeRbsp(sps.subarray(1)));
    const profileIdc = r.bits(8);
    r.bits(16); // constraint flags, level
    r.ue(); // seq_parameter_set_id
    let chromaFormatIdc = 1;
    let separateColourPlane = 0;
    if (HIGH_PROFILES.has(profileIdc)) {
      chromaFormatIdc = r.ue();
      if (chromaFormatIdc === 3) separateColourPlane = r.bit();
      r.ue(); // bit_depth_luma_minus8
      r.ue(); // bit_depth_chroma_minus8
      r.bit(); // qpprime_y_zero_transform_bypass_flag
      if (r.bit()) {
        const lists = chromaFormatIdc === 3 ? 12 : 8;
        for (let i = 0; i < lists; i++) {
          if (!r.bit()) continue;
          const size = i < 6 ? 16 : 64;
          let last = 8;
          let next = 8;
          for (let j = 0; j < size && next !== 0; j++) {
            next = (last + r.se() + 256) % 256;
            if (next !== 0) last = next;
          }
        }
      }
    }
    r.ue(); // log2_max_frame_num_minus4
    const pocType = r.ue();
    if (pocType === 0) r.ue();
    else if (pocType === 1) {
      r.bit();
      r.se();
      r.se();
      const cycle = r.ue();
      for (let i = 0; i < cycle; i++) r.se();
    }
    r.ue(); // max_num_ref_frames
    r.bit(); // gaps_in_frame_num_value_allowed_flag
    const widthMbs = r.ue() + 1;
    const heightMapUnits = r.ue() + 1;
    const frameMbsOnly = r.bit();
    if (!frameMbsOnly) r.bit(); // mb_adaptive_frame_field_flag
    r.bit(); // direct_8x8_inference_flag
    let crop = { left: 0, right: 0, top: 0, bottom: 0 };
    if (r.bit()) crop = { left: r.ue(), right: r.ue(), top: r.ue(), bottom: r.ue() };
    const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
    const cropUnitX = chromaArrayType === 0 ? 1 : chromaFormatIdc === 3 ? 1 : 2;
    const cropUnitY = (chromaArrayType === 0 ? 1 : chromaFormatIdc === 1 ? 2 : 1) * (2 - frameMbsOnly);
    const width = widthMbs * 16 - cropUnitX * (crop.left + crop.right);
    const height = (2 - frameMbsOnly) * heightMapUnits * 16 - cropUnitY * (crop.top + crop.bottom);
    return width > 0 && height > 0 ? { width, height } : undefined;
  } catch {
    return undefined;
  }
}

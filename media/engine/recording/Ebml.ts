/**
 * The few EBML encodings a progressively written WebM file needs: element ids, sizes (including the 8-byte
 * "unknown" size of a Segment or Cluster still being written), unsigned integers, floats, strings and Void padding.
 */
export const ID = {
  EBML: 0x1a45dfa3,
  EBMLVersion: 0x4286,
  EBMLReadVersion: 0x42f7,
  EBMLMaxIDLength: 0x42f2,
  EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  Void: 0xec,
  Segment: 0x18538067,
  SeekHead: 0x114d9b74,
  Seek: 0x4dbb,
  SeekID: 0x53ab,
  SeekPosition: 0x53ac,
  Info: 0x1549a966,
  TimestampScale: 0x2ad7b1,
  Duration: 0x4489,
  MuxingApp: 0x4d80,
  WritingApp: 0x5741,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackUID: 0x73c5,
  TrackType: 0x83,
  FlagLacing: 0x9c,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  CodecDelay: 0x56aa,
  SeekPreRoll: 0x56bb,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  Channels: 0x9f,
  Cluster: 0x1f43b675,
  Timestamp: 0xe7,
  SimpleBlock: 0xa3,
  Cues: 0x1c53bb6b,
  CuePoint: 0xbb,
  CueTime: 0xb3,
  CueTrackPositions: 0xb7,
  CueTrack: 0xf7,
  CueClusterPosition: 0xf1,
} as const;

/** An element id as bytes (ids carry their own length marker). */
export function idBytes(id: number): Uint8Array {
  const length = id >= 0x1000000 ? 4 : id >= 0x10000 ? 3 : id >= 0x100 ? 2 : 1;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (id >>> (8 * (length - 1 - i))) & 0xff;
  return out;
}

/** An element size as a variable-length integer, in the fewest bytes or in exactly `width` bytes. */
export function sizeBytes(size: number, width?: number): Uint8Array {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`invalid EBML size ${size}`);
  let length = width ?? 1;
  while (width === undefined && size >= 2 ** (7 * length) - 1) length++;
  if (length > 8 || size >= 2 ** (7 * length) - 1)
    throw new RangeError(`EBML size ${size} does not fit ${length} bytes`);
  const out = new Uint8Array(length);
  let rest = size;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  out[0]! |= 0x80 >> (length - 1);
  return out;
}

/** The 8-byte "unknown size" of an element whose end is not known yet. */
export const UNKNOWN_SIZE = Uint8Array.of(0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.byteLength;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

export function element(id: number, ...children: Uint8Array[]): Uint8Array {
  const body = concat(children);
  return concat([idBytes(id), sizeBytes(body.byteLength), body]);
}

export function uint(id: number, value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`invalid EBML uint ${value}`);
  const bytes: number[] = [];
  let rest = value;
  do {
    bytes.unshift(rest % 256);
    rest = Math.floor(rest / 256);
  } while (rest > 0);
  return element(id, Uint8Array.from(bytes));
}

/** An unsigned integer in exactly 8 bytes, so that it can be rewritten in place. */
export function uint64(id: number, value: number): Uint8Array {
  const body = new Uint8Array(8);
  new DataView(body.buffer).setBigUint64(0, BigInt(value));
  return element(id, body);
}

export function float64(id: number, value: number): Uint8Array {
  const body = new Uint8Array(8);
  new DataView(body.buffer).setFloat64(0, value);
  return element(id, body);
}

export function string(id: number, value: string): Uint8Array {
  return element(id, new TextEncoder().encode(value));
}

/** A Void element of exactly `length` bytes (at least 2), to reserve or blank out space. */
export function voidOf(length: number): Uint8Array {
  if (length < 2) throw new RangeError(`a Void element needs at least 2 bytes, got ${length}`);
  const width = length - 1 <= 127 ? 1 : 8;
  const out = new Uint8Array(length);
  out[0] = ID.Void;
  out.set(sizeBytes(length - 1 - width, width), 1);
  return out;
}

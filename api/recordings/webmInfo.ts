/**
 * What a WebM file's head says about seekability: its duration (Segment > Info > Duration) and whether it has an
 * index (Cues, or a SeekHead entry pointing to them). A file written by a real KMS, or cut short by a crash, has
 * neither until it is finalised. Reads only the first bytes: the elements before the first Cluster.
 */
import { open } from 'node:fs/promises';

export interface WebmInfo {
  /** From the header, or null when it has none. */
  durationMs: number | null;
  /** An index (Cues) exists or is announced. */
  cues: boolean;
}

const ID = {
  EBML: 0x1a45dfa3,
  Segment: 0x18538067,
  SeekHead: 0x114d9b74,
  Seek: 0x4dbb,
  SeekID: 0x53ab,
  Info: 0x1549a966,
  TimecodeScale: 0x2ad7b1,
  Duration: 0x4489,
  Cues: 0x1c53bb6b,
  Cluster: 0x1f43b675,
} as const;

const HEAD_BYTES = 256 * 1024;

interface Element {
  id: number;
  /** Where the data starts. */
  start: number;
  /** Data length; null for an unknown size. */
  size: number | null;
}

/** A variable-length integer (EBML): its length comes from the first byte's leading zeros. */
function vint(buf: Buffer, at: number, keepMarker: boolean): { value: number; length: number; unknown: boolean } | null {
  if (at >= buf.length) return null;
  const first = buf[at]!;
  if (first === 0) return null;
  const length = Math.clz32(first) - 23;
  if (length > 8 || at + length > buf.length) return null;
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = value === (0xff >> length);
  for (let i = 1; i < length; i++) {
    const byte = buf[at + i]!;
    value = value * 256 + byte;
    if (byte !== 0xff) allOnes = false;
  }
  return { value, length, unknown: !keepMarker && allOnes };
}

function element(buf: Buffer, at: number): Element | null {
  const id = vint(buf, at, true);
  if (!id || id.length > 4) return null;
  const size = vint(buf, at + id.length, false);
  if (!size) return null;
  return { id: id.value, start: at + id.length + size.length, size: size.unknown ? null : size.value };
}

function* children(buf: Buffer, start: number, end: number): Generator<Element> {
  let at = start;
  while (at < end) {
    const el = element(buf, at);
    if (!el) return;
    yield el;
    if (el.size === null) return;
    at = el.start + el.size;
  }
}

function readUint(buf: Buffer, el: Element): number {
  let value = 0;
  for (let i = 0; i < (el.size ?? 0); i++) value = value * 256 + buf[el.start + i]!;
  return value;
}

function readFloat(buf: Buffer, el: Element): number | null {
  if (el.size === 4 && el.start + 4 <= buf.length) return buf.readFloatBE(el.start);
  if (el.size === 8 && el.start + 8 <= buf.length) return buf.readDoubleBE(el.start);
  return null;
}

/** Parses the head of a WebM file held in `buf`. */
export function parseWebmHead(buf: Buffer): WebmInfo {
  const info: WebmInfo = { durationMs: null, cues: false };
  let segment: Element | null = null;
  for (const el of children(buf, 0, buf.length)) {
    if (el.id === ID.Segment) {
      segment = el;
      break;
    }
  }
  if (!segment) return info;
  const end = segment.size === null ? buf.length : Math.min(buf.length, segment.start + segment.size);
  for (const el of children(buf, segment.start, end)) {
    if (el.id === ID.Cluster) break;
    const elEnd = Math.min(end, el.start + (el.size ?? 0));
    if (el.id === ID.Cues) info.cues = true;
    if (el.id === ID.SeekHead) {
      for (const seek of children(buf, el.start, elEnd)) {
        if (seek.id !== ID.Seek) continue;
        for (const field of children(buf, seek.start, Math.min(elEnd, seek.start + (seek.size ?? 0)))) {
          if (field.id === ID.SeekID && readUint(buf, field) === ID.Cues) info.cues = true;
        }
      }
    }
    if (el.id === ID.Info) {
      let scale = 1_000_000;
      let duration: number | null = null;
      for (const field of children(buf, el.start, elEnd)) {
        if (field.id === ID.TimecodeScale) scale = readUint(buf, field) || scale;
        if (field.id === ID.Duration) duration = readFloat(buf, field);
      }
      if (duration !== null && Number.isFinite(duration) && duration > 0) info.durationMs = Math.round((duration * scale) / 1e6);
    }
  }
  return info;
}

/** Reads and parses the head of a WebM file; a file that cannot be read has no duration and no index. */
export async function webmInfo(file: string): Promise<WebmInfo> {
  let handle;
  try {
    handle = await open(file, 'r');
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(buf, 0, HEAD_BYTES, 0);
    return parseWebmHead(buf.subarray(0, bytesRead));
  } catch {
    return { durationMs: null, cues: false };
  } finally {
    await handle?.close();
  }
}

/** True when Chromium can seek in it: a duration and an index. */
export function isSeekable(info: WebmInfo): boolean {
  return info.durationMs !== null && info.cues;
}

/** Opus packets as RTP (RFC 7587) and WebM (A_OPUS) carry them: durations from the TOC byte, the OpusHead. */

const SILK_MS = [10, 20, 40, 60];
const HYBRID_MS = [10, 20];
const CELT_MS = [2.5, 5, 10, 20];

/** Duration of one Opus packet in ms, from its TOC byte (and frame count byte), or undefined if malformed. */
export function opusPacketDurationMs(packet: Uint8Array): number | undefined {
  if (packet.byteLength < 1) return undefined;
  const toc = packet[0]!;
  const config = toc >> 3;
  const frameMs = config < 12 ? SILK_MS[config % 4]! : config < 16 ? HYBRID_MS[config % 2]! : CELT_MS[config % 4]!;
  const code = toc & 0x03;
  if (code === 0) return frameMs;
  if (code !== 3) return 2 * frameMs;
  if (packet.byteLength < 2) return undefined;
  const frames = packet[1]! & 0x3f;
  return frames > 0 ? frames * frameMs : undefined;
}

/** The OpusHead identification header, which WebM stores as the track's CodecPrivate. */
export function opusHead(channels: number, preSkip = 0, inputSampleRate = 48_000): Uint8Array {
  const head = new Uint8Array(19);
  head.set(new TextEncoder().encode('OpusHead'), 0);
  const view = new DataView(head.buffer);
  view.setUint8(8, 1); // version
  view.setUint8(9, channels);
  view.setUint16(10, preSkip, true);
  view.setUint32(12, inputSampleRate, true);
  view.setInt16(16, 0, true); // output gain
  view.setUint8(18, 0); // channel mapping family
  return head;
}

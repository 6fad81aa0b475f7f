/**
 * The relay's datagrams between two workers of one engine, over loopback UDP (plain RTP: nothing leaves the host).
 * Media, sink → source: [MEDIA | kind, codec] + the RTP packet as received. Feedback, source → sink: a keyframe
 * request, the video bitrate the source's sinks allow (REMB), or the video sequence numbers it missed (NACK).
 */
import type { CodecName, MediaKind, TrackInfo } from '../rtp/MediaTypes.js';

export const RELAY_HOST = '127.0.0.1';
/** Ids of relay elements: internal to the engine, never seen by a client. */
export const RELAY_PREFIX = 'relay:';

export const MEDIA_AUDIO = 0x01;
export const MEDIA_VIDEO = 0x02;
export const FEEDBACK_KEYFRAME = 0x10;
export const FEEDBACK_LIMIT = 0x11;
export const FEEDBACK_NACK = 0x12;

const CODECS: readonly CodecName[] = ['OPUS', 'VP8', 'H264'];

export function codecByte(codec: CodecName): number {
  return CODECS.indexOf(codec);
}

export function codecOf(byte: number): CodecName | undefined {
  return CODECS[byte];
}

export function isRelayId(id: unknown): boolean {
  return typeof id === 'string' && id.startsWith(RELAY_PREFIX);
}

/** The track info a relayed packet travels with (one shared object per kind and codec). */
const TRACKS = new Map<string, TrackInfo>();
export function trackOf(kind: MediaKind, codec: CodecName): TrackInfo {
  const key = `${kind}/${codec}`;
  let track = TRACKS.get(key);
  if (!track) {
    track = { kind, codec, clockRate: codec === 'OPUS' ? 48_000 : 90_000 };
    TRACKS.set(key, track);
  }
  return track;
}

/**
 * Shared types of the recording module: what the engine hands to a WebmRecorder with every RTP packet, and what a
 * WebmPlayer announces for each track it plays.
 */
export type MediaKind = 'audio' | 'video';
export type CodecName = 'VP8' | 'H264' | 'OPUS';
export type RecordingProfile =
  'WEBM' | 'WEBM_AUDIO_ONLY' | 'WEBM_VIDEO_ONLY' | 'MKV' | 'MKV_AUDIO_ONLY' | 'MKV_VIDEO_ONLY';

export interface TrackInfo {
  kind: MediaKind;
  codec: CodecName;
  clockRate: number;
  /** Audio channels, when known (a player's track). */
  channels?: number;
  /** Picture size of the first keyframe, when known (a player's track). */
  width?: number;
  height?: number;
  /**
   * The latest RTCP sender report of the stream, when its source received one (a WebRtcEndpoint): carried with the
   * packets through the element graph so that a recorder can put its tracks on the sender's capture timeline.
   */
  senderReport?: SenderReport;
}

/** A sender report's NTP↔RTP mapping (RFC 3550 §6.4.1): the RTP timestamp that corresponds to a wall-clock time. */
export interface SenderReport {
  ssrc: number;
  /** The report's NTP timestamp, in ms since the NTP epoch (1900), on the sender's clock. */
  ntpMs: number;
  rtpTimestamp: number;
}

/** A 64-bit NTP timestamp (32.32 fixed point seconds) in ms. */
export function ntpToMs(ntp: bigint): number {
  return Number(ntp >> 32n) * 1000 + (Number(ntp & 0xffff_ffffn) * 1000) / 2 ** 32;
}

export const RECORDING_PROFILES: readonly RecordingProfile[] = [
  'WEBM',
  'WEBM_AUDIO_ONLY',
  'WEBM_VIDEO_ONLY',
  'MKV',
  'MKV_AUDIO_ONLY',
  'MKV_VIDEO_ONLY',
];

/** The media kinds a profile records. */
export function profileKinds(profile: RecordingProfile): MediaKind[] {
  if (profile.endsWith('_AUDIO_ONLY')) return ['audio'];
  if (profile.endsWith('_VIDEO_ONLY')) return ['video'];
  return ['video', 'audio'];
}

/** The codecs WebM can carry here, per kind, with their RTP clock rate. */
export const CODEC_CLOCK_RATES: Readonly<Record<CodecName, { kind: MediaKind; clockRate: number }>> = {
  VP8: { kind: 'video', clockRate: 90_000 },
  H264: { kind: 'video', clockRate: 90_000 },
  OPUS: { kind: 'audio', clockRate: 48_000 },
};

/** The outcome of a finished recording. */
export interface RecordingResult {
  durationMs: number;
  bytes: number;
}

/**
 * Media kinds and codecs as the engine forwards them. TrackInfo has the shape the recording module
 * (media/engine/recording/) expects with every packet.
 */
export type MediaKind = 'audio' | 'video';
export type CodecName = 'VP8' | 'H264' | 'OPUS';

export interface TrackInfo {
  kind: MediaKind;
  codec: CodecName;
  clockRate: number;
}

export const MEDIA_KINDS: readonly MediaKind[] = ['audio', 'video'];

/** Kurento's MediaType enum. */
export type KurentoMediaType = 'AUDIO' | 'VIDEO' | 'DATA';
export const KURENTO_MEDIA_TYPES: readonly KurentoMediaType[] = ['AUDIO', 'VIDEO', 'DATA'];

export function kurentoMediaType(kind: MediaKind): KurentoMediaType {
  return kind === 'audio' ? 'AUDIO' : 'VIDEO';
}

/** The kinds a Kurento MediaType selects: all of them when absent, none for DATA (no data channels). */
export function kindsOf(mediaType: KurentoMediaType | undefined): MediaKind[] {
  if (mediaType === undefined) return ['audio', 'video'];
  if (mediaType === 'AUDIO') return ['audio'];
  if (mediaType === 'VIDEO') return ['video'];
  return [];
}

export const AUDIO_OPUS: TrackInfo = { kind: 'audio', codec: 'OPUS', clockRate: 48_000 };
export const VIDEO_VP8: TrackInfo = { kind: 'video', codec: 'VP8', clockRate: 90_000 };
export const VIDEO_H264: TrackInfo = { kind: 'video', codec: 'H264', clockRate: 90_000 };

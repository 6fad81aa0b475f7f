/**
 * Media kinds and codecs as the engine forwards them. Their home is the recording module
 * (media/engine/recording/types.ts), whose TrackInfo comes with every packet.
 */
import type { MediaKind } from '../recording/types.js';

export type { CodecName, MediaKind, TrackInfo } from '../recording/types.js';

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

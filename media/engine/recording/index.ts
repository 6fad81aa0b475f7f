/** The embedded engine's recording and playback: WebM files written from RTP and played back as RTP. */
export { WebmRecorder, type WebmRecorderOptions, type WebmRecorderEvents, type RecorderState } from './WebmRecorder.js';
export { WebmPlayer, type WebmPlayerOptions, type WebmPlayerEvents, type PlayerState } from './WebmPlayer.js';
export { InvalidStateError, MediaFileError, UnsupportedError } from './errors.js';
export {
  RECORDING_PROFILES,
  ntpToMs,
  profileKinds,
  type CodecName,
  type MediaKind,
  type RecordingProfile,
  type RecordingResult,
  type SenderReport,
  type TrackInfo,
} from './types.js';

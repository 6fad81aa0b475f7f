/** The one place where the media layer's errors become contract errors. */
import { MediaError, type MediaErrorCode } from '../media/errors.js';
import { type ErrorCode, OnairError } from './contract/errors.js';

const CONTRACT_CODE: Record<MediaErrorCode, ErrorCode> = {
  'sdp.invalid': 'sdp.invalid',
  'ice.invalid': 'ice.invalid',
  closed: 'live.ended',
  'live.exists': 'live.alreadyLive',
  'live.noPresenter': 'live.notFound',
  'live.gone': 'live.notFound',
  'viewer.exists': 'request.invalid',
  'server.unavailable': 'media.unavailable',
  'server.full': 'media.capacity',
};

/** The contract error an error stands for: itself if an OnairError, translated if a MediaError, else undefined. */
export function contractError(error: unknown): OnairError | undefined {
  if (error instanceof OnairError) return error;
  if (error instanceof MediaError) return new OnairError(CONTRACT_CODE[error.code], error.message);
  return undefined;
}

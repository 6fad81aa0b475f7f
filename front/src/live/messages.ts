/** What going live and watching tell the user, by error code and by the way a live ended. */
import type { ErrorCode } from '../../../api/contract/errors.js';
import type { LiveEndReason } from '../../../api/contract/signalling.js';
import { ApiError, errorMessage } from '../api/ApiError.js';

const BY_CODE: Partial<Record<ErrorCode, string>> = {
  'live.alreadyLive': 'You are already live, maybe in another tab or window. End that live first.',
  'live.notFound': 'This live does not exist, or it is over.',
  'live.ended': 'This live has ended.',
  'media.unavailable': 'The media server is unavailable right now. Try again in a moment.',
  'media.failed': 'The media server could not set up the video. Try again.',
  'sdp.invalid': 'The media server could not use what your browser offered. Try another browser.',
  'request.rateLimited': 'Too many attempts in a short time. Wait a moment, then try again.',
  internal: 'Something went wrong on our side. Try again.',
};

/** A sentence for a failed signalling request (the server's own message when there is no better one). */
export function liveErrorMessage(error: unknown): string {
  if (error instanceof ApiError && !error.unreachable) return BY_CODE[error.code] ?? errorMessage(error);
  return errorMessage(error);
}

/** Why a live ended, as a viewer reads it. */
export function endedMessage(reason: LiveEndReason | 'connectionLost'): string {
  switch (reason) {
    case 'stopped':
      return 'The presenter ended the live.';
    case 'presenterLeft':
      return 'The presenter left, so the live ended.';
    case 'mediaServerLost':
      return 'The live stopped because the media server went away.';
    case 'shutdown':
      return 'The live stopped because the server is restarting.';
    case 'connectionLost':
      return 'The connection to the server was lost.';
    case 'failed':
    default:
      return 'The live stopped because of a problem on our side.';
  }
}

/** What going live and watching tell the user, by error code and by the way a live ended (in the chosen language). */
import type { LiveEndReason } from '../../../api/contract/signalling.js';
import { errorMessage } from '../rest/ApiError.js';
import { t } from '../i18n/index.js';

/** A sentence for a failed signalling request (the catalog has one for every error code). */
export function liveErrorMessage(error: unknown): string {
  return errorMessage(error);
}

/** Why a live ended, as a viewer reads it. */
export function endedMessage(reason: LiveEndReason | 'connectionLost'): string {
  switch (reason) {
    case 'stopped':
      return t('live.reasonStopped');
    case 'presenterLeft':
      return t('live.reasonPresenterLeft');
    case 'presenterLost':
      return t('live.reasonPresenterLost');
    case 'mediaServerLost':
      return t('live.reasonMediaServerLost');
    case 'shutdown':
      return t('live.reasonShutdown');
    case 'connectionLost':
      return t('live.reasonConnectionLost');
    case 'failed':
    default:
      return t('live.reasonFailed');
  }
}

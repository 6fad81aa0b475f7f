/** How calls read: outcomes in the history, why a call ended, and refusals by error code. */
import type { ErrorCode } from '../../../api/contract/errors.js';
import type { CallView } from '../../../api/contract/signalling.js';
import { ApiError, errorMessage } from '../rest/ApiError.js';
import { t } from '../i18n/index.js';
import { formatDuration } from './index.js';

export type Direction = 'outgoing' | 'incoming';

export function directionOf(call: CallView, me: number | undefined): Direction {
  return call.caller.id === me ? 'outgoing' : 'incoming';
}

/** The other party of a call. */
export function otherParty(call: CallView, me: number | undefined): CallView['caller'] {
  return call.caller.id === me ? call.callee : call.caller;
}

/** A short label of a call in the history, from this user's side. */
export function outcomeLabel(call: CallView, me: number | undefined): string {
  const outgoing = directionOf(call, me) === 'outgoing';
  switch (call.outcome) {
    case 'completed':
      return t(outgoing ? 'calls.outcome.outgoingCall' : 'calls.outcome.incomingCall');
    case 'answered':
      return t('calls.outcome.inProgress');
    case 'ringing':
      return t('calls.outcome.ringing');
    case 'missed':
      return t(outgoing ? 'calls.outcome.noAnswer' : 'calls.outcome.missed');
    case 'rejected':
      return t(outgoing ? 'calls.outcome.declined' : 'calls.outcome.youDeclined');
    case 'cancelled':
      return t(outgoing ? 'calls.outcome.cancelled' : 'calls.outcome.missed');
    case 'busy':
      return t(outgoing ? 'calls.outcome.busy' : 'calls.outcome.missedBusy');
    case 'failed':
    default:
      return t('calls.outcome.failed');
  }
}

/** Whether the history shows the entry as a problem (red). */
export function isMissed(call: CallView, me: number | undefined): boolean {
  const incoming = directionOf(call, me) === 'incoming';
  return incoming && (call.outcome === 'missed' || call.outcome === 'cancelled' || call.outcome === 'busy');
}

/** Why the call this tab carried ended, as a sentence. */
export function endedMessage(call: CallView, me: number | undefined, durationMs: number | null): string {
  const other = otherParty(call, me).nickname;
  const outgoing = directionOf(call, me) === 'outgoing';
  const after = durationMs === null ? '' : 'After';
  const duration = durationMs === null ? '' : formatDuration(durationMs);
  switch (call.outcome) {
    case 'completed':
      if (call.endReason === 'disconnected') return t(`calls.ended.disconnected${after}`, { other, duration });
      if (call.endReason === 'shutdown') return t(`calls.ended.shutdown${after}`, { other, duration });
      return t(`calls.ended.completed${after}`, { other, duration });
    case 'rejected':
      return t(outgoing ? 'calls.ended.theyDeclined' : 'calls.ended.youDeclined', { other });
    case 'missed':
      return t(outgoing ? 'calls.ended.noAnswer' : 'calls.ended.youMissed', { other });
    case 'cancelled':
      return t(outgoing ? 'calls.ended.youCancelled' : 'calls.ended.theyCancelled', { other });
    case 'busy':
      return t('calls.ended.busy', { other });
    default:
      return t('calls.ended.failed', { other });
  }
}

/** Refusals that read better for calls than the code's general message. */
const BY_CODE: Partial<Record<ErrorCode, string>> = {
  'live.alreadyLive': 'calls.refused.live',
  'request.rateLimited': 'calls.refused.rateLimited',
  'media.unavailable': 'calls.refused.unavailable',
};

/** A sentence for a refused call request. */
export function callErrorMessage(error: unknown): string {
  const key = error instanceof ApiError && !error.unreachable ? BY_CODE[error.code] : undefined;
  return key ? t(key) : errorMessage(error);
}

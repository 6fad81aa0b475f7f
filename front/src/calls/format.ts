/** How calls read: outcomes in the history, why a call ended, and refusals by error code. */
import type { ErrorCode } from '../../../api/contract/errors.js';
import type { CallView } from '../../../api/contract/signalling.js';
import { ApiError, errorMessage } from '../api/ApiError.js';
import { formatElapsed } from '../live/format.js';

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
      return outgoing ? 'Outgoing call' : 'Incoming call';
    case 'answered':
      return 'In progress';
    case 'ringing':
      return 'Ringing';
    case 'missed':
      return outgoing ? 'No answer' : 'Missed call';
    case 'rejected':
      return outgoing ? 'Declined' : 'You declined';
    case 'cancelled':
      return outgoing ? 'Cancelled' : 'Missed call';
    case 'busy':
      return outgoing ? 'Busy' : 'Missed (you were busy)';
    case 'failed':
    default:
      return 'Failed';
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
  switch (call.outcome) {
    case 'completed':
      if (call.endReason === 'disconnected')
        return `The call with ${other} ended: a connection was lost${duration(durationMs)}.`;
      if (call.endReason === 'shutdown')
        return `The call with ${other} ended: the server is restarting${duration(durationMs)}.`;
      return `Call with ${other} ended${duration(durationMs)}.`;
    case 'rejected':
      return outgoing ? `${other} declined the call.` : `You declined the call from ${other}.`;
    case 'missed':
      return outgoing ? `${other} did not answer.` : `You missed a call from ${other}.`;
    case 'cancelled':
      return outgoing ? 'You cancelled the call.' : `${other} hung up before you answered.`;
    case 'busy':
      return `${other} is busy.`;
    default:
      return `The call with ${other} failed.`;
  }
}

const BY_CODE: Partial<Record<ErrorCode, string>> = {
  'call.self': 'You cannot call yourself.',
  'call.userNotFound': 'Nobody has this nickname.',
  'call.userOffline': 'This person is not online any more.',
  'call.busy': 'This person is busy (in a call or live). Try again later.',
  'call.notYours': 'This call is not yours to answer.',
  'call.alreadyAnswered': 'This call was already answered (maybe in another tab).',
  'call.ended': 'This call is over.',
  'call.notFound': 'This call is over.',
  'live.alreadyLive': 'You are live (maybe in another tab). End that live to make or take calls.',
  'request.rateLimited': 'Too many calls in a short time. Wait a minute, then try again.',
  'media.unavailable': 'Calls are unavailable right now. Try again in a moment.',
};

/** A sentence for a refused call request. */
export function callErrorMessage(error: unknown): string {
  if (error instanceof ApiError && !error.unreachable) return BY_CODE[error.code] ?? errorMessage(error);
  return errorMessage(error);
}

function duration(ms: number | null): string {
  return ms === null ? '' : ` after ${formatElapsed(ms)}`;
}

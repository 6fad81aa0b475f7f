/**
 * A call as the store keeps it while it rings and runs, and the rules of its state machine:
 * ringing → accepted → ended, or ringing → ended (rejected, cancelled, missed...). Pure functions: the service
 * applies them with compare-and-set, so that of two racing transitions one wins and the other sees the new state.
 */
import { OnairError } from '../contract/errors.js';
import type { CallOutcome } from '../contract/rest.js';
import type { CallEndReason, CallState, CallView } from '../contract/signalling.js';

/** One party of a call. */
export interface CallSide {
  userId: number;
  nickname: string;
  /** The connection that carries the call for this side: the caller's inviting one, the callee's accepting one. */
  socketId: string | null;
  /** The API process that holds that connection. */
  instanceId: string | null;
  /** This side's live for the call, once reserved. */
  liveId: string | null;
  /** Whether that live is on air (the other side may watch it). */
  onAir: boolean;
}

export interface CallRecord {
  id: string;
  state: CallState;
  caller: CallSide;
  callee: CallSide;
  createdAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  outcome: CallOutcome;
  endReason: CallEndReason | null;
}

export type SideName = 'caller' | 'callee';

export function newCallRecord(
  id: string,
  caller: Omit<CallSide, 'liveId' | 'onAir'>,
  callee: Pick<CallSide, 'userId' | 'nickname'>,
  now: Date,
): CallRecord {
  return {
    id,
    state: 'ringing',
    caller: { ...caller, liveId: null, onAir: false },
    callee: { ...callee, socketId: null, instanceId: null, liveId: null, onAir: false },
    createdAt: now.toISOString(),
    answeredAt: null,
    endedAt: null,
    outcome: 'ringing',
    endReason: null,
  };
}

/** Which side a user is on, or null for a stranger to the call. */
export function sideOf(call: CallRecord, userId: number): SideName | null {
  if (call.caller.userId === userId) return 'caller';
  if (call.callee.userId === userId) return 'callee';
  return null;
}

export function otherSide(side: SideName): SideName {
  return side === 'caller' ? 'callee' : 'caller';
}

/** The callee answers from `socketId`. */
export function accept(call: CallRecord, userId: number, socketId: string, instanceId: string, now: Date): CallRecord {
  if (sideOf(call, userId) !== 'callee')
    throw new OnairError('call.notYours', 'only the person called can answer this call');
  assertRinging(call);
  return {
    ...call,
    state: 'accepted',
    outcome: 'answered',
    answeredAt: now.toISOString(),
    callee: { ...call.callee, socketId, instanceId },
  };
}

/** The call is over for `reason`; its outcome follows from the state it was in. */
export function end(call: CallRecord, reason: CallEndReason, now: Date): CallRecord {
  if (call.state === 'ended') throw endedError(call);
  return {
    ...call,
    state: 'ended',
    outcome: outcomeOf(call.state, reason),
    endReason: reason,
    endedAt: now.toISOString(),
  };
}

/** How a call that was `state` ends for `reason`. */
export function outcomeOf(state: CallState, reason: CallEndReason): CallOutcome {
  if (state === 'accepted') return reason === 'failed' ? 'failed' : 'completed';
  switch (reason) {
    case 'rejected':
    case 'cancelled':
    case 'missed':
    case 'busy':
    case 'failed':
      return reason;
    case 'hangUp':
    case 'disconnected':
      return 'cancelled';
    case 'shutdown':
      return 'failed';
  }
}

/** A side's live for the call is reserved (`onAir` false) or on air (`onAir` true). */
export function withLive(call: CallRecord, side: SideName, liveId: string, onAir: boolean): CallRecord {
  assertAccepted(call);
  return { ...call, [side]: { ...call[side], liveId, onAir } };
}

export function assertRinging(call: CallRecord): void {
  if (call.state === 'accepted') throw new OnairError('call.alreadyAnswered', 'this call was already answered');
  if (call.state === 'ended') throw endedError(call);
}

export function assertAccepted(call: CallRecord): void {
  if (call.state === 'ringing') throw new OnairError('call.notFound', 'this call has not been answered yet');
  if (call.state === 'ended') throw endedError(call);
}

export function endedError(call: Pick<CallRecord, 'outcome'>): OnairError {
  return new OnairError('call.ended', `this call is over (${call.outcome})`);
}

/** Talk time in milliseconds, once a call that was answered has ended. */
export function durationOf(call: Pick<CallRecord, 'answeredAt' | 'endedAt'>): number | null {
  if (!call.answeredAt || !call.endedAt) return null;
  return Math.max(0, Date.parse(call.endedAt) - Date.parse(call.answeredAt));
}

export function viewOf(call: CallRecord, avatarUrl: (userId: number) => string): CallView {
  return {
    id: call.id,
    caller: { id: call.caller.userId, nickname: call.caller.nickname, avatarUrl: avatarUrl(call.caller.userId) },
    callee: { id: call.callee.userId, nickname: call.callee.nickname, avatarUrl: avatarUrl(call.callee.userId) },
    state: call.state,
    outcome: call.outcome,
    createdAt: call.createdAt,
    answeredAt: call.answeredAt,
    endedAt: call.endedAt,
    durationMs: durationOf(call),
    endReason: call.endReason,
  };
}

/** Parses a stored record; null for anything that is not one. */
export function parseCallRecord(raw: string | null): CallRecord | null {
  if (!raw) return null;
  try {
    const value = JSON.parse(raw) as CallRecord;
    return typeof value?.id === 'string' && typeof value.state === 'string' ? value : null;
  } catch {
    return null;
  }
}

/**
 * Calls between two users: invite by nickname, ring, accept / reject / cancel / miss, hang up. The state machine
 * lives in the store (api/calls/CallRecord.ts) with TTLs, so that every API process agrees; each transition is a
 * compare-and-set (replays and races lose cleanly), is logged in the `calls` table, and goes to every connection
 * of both parties (`call:state`, rooms per user through the socket.io adapter).
 *
 * Media are the broadcast primitives: on accept, each side goes live as a call participant (a live of kind
 * 'call', api/live/LiveService.ts) and watches the other's. When a call ends, each process releases what its own
 * connections hold (told through the store's `calls` channel), so nothing is left on the media server.
 */
import { OnairError } from '../contract/errors.js';
import type { CallEndReason, CallView, IceServer } from '../contract/signalling.js';
import { newPublicId } from '../db/ids.js';
import type { Models } from '../db/index.js';
import { nicknameKey } from '../auth/rules.js';
import type { LiveService } from '../live/LiveService.js';
import type { Notifier, SocketUser } from '../signalling/sockets.js';
import type { Logger } from '../logger.js';
import { contractError } from '../mediaErrors.js';
import type { Store, Unsubscribe } from '../store/Store.js';
import {
  accept,
  assertAccepted,
  end,
  endedError,
  newCallRecord,
  otherSide,
  parseCallRecord,
  sideOf,
  viewOf,
  withLive,
  type CallRecord,
  type SideName,
} from './CallRecord.js';
import { CallLog } from './CallLog.js';
import { Presence } from './Presence.js';
import type { Membership } from '../cluster/Membership.js';

export interface CallServiceOptions {
  store: Store;
  models: Pick<Models, 'Call' | 'User'>;
  lives: LiveService;
  notifier: Notifier;
  log: Logger;
  avatarUrl: (userId: number) => string;
  /** How long a call rings before it is missed (CALL_RING_TIMEOUT_MS). */
  ringTimeoutMs: number;
  /** Invitations one user may send per minute, before `request.rateLimited`. */
  invitesPerMinute?: number;
  /**
   * How long an accepted call waits for a side whose connection dropped to come back (`call:resume`) before it
   * ends ('disconnected'); 0 (the default here; RESUME_GRACE_MS in the app): it ends at once.
   */
  resumeGraceMs?: number;
  /** Which API processes are alive (presence sweeps the users of a dead one). */
  membership: Membership;
}

/** A user's own room: every connection of theirs, on any process. */
export const userRoom = (userId: number) => `user:${userId}`;

const callKey = (callId: string) => `call:${callId}`;
/** The one call a user is part of (ringing or accepted): "busy". */
const slotKey = (userId: number) => `user:${userId}:call`;
const CALLS_CHANNEL = 'calls';
const ACCEPTED_TTL_MS = 24 * 3600_000;
/** An ended call stays in the store this long, so that late requests hear `call.ended`. */
const ENDED_TTL_MS = 5 * 60_000;
const CAS_ATTEMPTS = 10;

type CallMessage = { type: 'ended'; call: CallRecord };

export class CallService {
  readonly presence: Presence;
  readonly callLog: CallLog;
  readonly #opts: CallServiceOptions;
  readonly #store: Store;
  /** Connections on this process, by socket id. */
  readonly #sockets = new Map<string, SocketUser>();
  /** Ring timers of the calls this process sent, by call id. */
  readonly #ringing = new Map<string, NodeJS.Timeout>();
  /** Connections of this process that dropped while carrying an accepted call, waiting for `call:resume`. */
  readonly #dropped = new Map<string, { callId: string; timer: NodeJS.Timeout }>();
  /** Work in flight (transitions, releases), awaited by close(). */
  readonly #work = new Set<Promise<unknown>>();
  #unsubscribe: Unsubscribe | undefined;
  #closed = false;

  constructor(opts: CallServiceOptions) {
    this.#opts = opts;
    this.#store = opts.store;
    this.callLog = new CallLog(opts.models, opts.avatarUrl);
    this.presence = new Presence({
      store: opts.store,
      notifier: opts.notifier,
      log: opts.log,
      avatarUrl: opts.avatarUrl,
      membership: opts.membership,
    });
    this.presence.on('offline', (userId) => {
      void this.#track(this.#calleeOffline(userId));
    });
    this.presence.on('instanceGone', (instanceId, userIds) => {
      void this.#track(this.#instanceGone(instanceId, userIds));
    });
    // A call's live that fails on its own (media server lost, set-up failed) fails the call for both sides.
    opts.lives.on('ended', (ended) => {
      if (ended.kind !== 'call' || !ended.callId || (ended.reason !== 'mediaServerLost' && ended.reason !== 'failed'))
        return;
      void this.#track(
        this.#end(ended.callId, (call) => (call.state === 'accepted' ? 'failed' : null)).catch((error: unknown) =>
          this.#quiet(error),
        ),
      );
    });
  }

  async start(): Promise<void> {
    await this.presence.start();
    this.#unsubscribe = await this.#store.subscribe(CALLS_CHANNEL, (message) => this.#onMessage(message));
    await this.#reconcile();
  }

  /** End the calls this process carries, release their media, leave presence. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    for (const timer of this.#ringing.values()) clearTimeout(timer);
    this.#ringing.clear();
    const callIds = new Set<string>();
    for (const caller of this.#sockets.values()) {
      const callId = await this.#store.get(slotKey(caller.userId)).catch(() => null);
      if (callId) callIds.add(callId);
    }
    for (const { callId, timer } of this.#dropped.values()) {
      clearTimeout(timer);
      callIds.add(callId);
    }
    await Promise.allSettled(
      [...callIds].map((callId) => this.#end(callId, (call) => (this.#carriedHere(call) ? 'shutdown' : null))),
    );
    this.#closed = true;
    await Promise.allSettled(this.#work);
    await this.#unsubscribe?.();
    await this.presence.close();
    this.#sockets.clear();
  }

  // ---- connections

  socketJoined(caller: SocketUser): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#sockets.set(caller.socketId, caller);
    this.#opts.notifier.join(caller.socketId, userRoom(caller.userId));
    return this.presence.socketJoined(caller);
  }

  /**
   * A connection went away: the call it carries ends (its media are released by LiveService.socketGone), at once
   * while it rings, after the grace period once accepted unless that side resumes (`call:resume`) meanwhile.
   */
  async socketGone(socketId: string): Promise<void> {
    const caller = this.#sockets.get(socketId);
    if (!caller || this.#closed) return;
    this.#sockets.delete(socketId);
    const work = (async () => {
      const callId = await this.#store.get(slotKey(caller.userId));
      const grace = this.#opts.resumeGraceMs ?? 0;
      const held = callId && grace > 0 ? await this.#get(callId).catch(() => null) : null;
      if (held?.state === 'accepted' && (held.caller.socketId === socketId || held.callee.socketId === socketId)) {
        this.#awaitResume(held.id, socketId, grace);
      } else if (callId) {
        await this.#end(callId, (call) =>
          call.caller.socketId === socketId || call.callee.socketId === socketId ? 'disconnected' : null,
        ).catch((error: unknown) => this.#quiet(error));
      }
      // Last: a callee who is now offline misses the call (Presence's `offline`).
      await this.presence.socketLeft(caller.userId);
    })();
    await this.#track(work);
  }

  /** Wait `graceMs` for the side this dropped connection carried to resume; then the call ends ('disconnected'). */
  #awaitResume(callId: string, socketId: string, graceMs: number): void {
    const timer = setTimeout(() => {
      this.#dropped.delete(socketId);
      void this.#track(
        this.#end(callId, (call) =>
          call.caller.socketId === socketId || call.callee.socketId === socketId ? 'disconnected' : null,
        ).catch((error: unknown) => this.#quiet(error)),
      );
    }, graceMs);
    timer.unref();
    this.#dropped.set(socketId, { callId, timer });
    this.#opts.log.info({ callId, socketId, graceMs }, 'a side of a call dropped: waiting for it to resume');
  }

  // ---- the call flow

  /** Ring an online user by nickname. */
  async invite(caller: SocketUser, req: { nickname: string }): Promise<{ call: CallView }> {
    this.#open();
    await this.#limitInvites(caller.userId);
    if (nicknameKey(req.nickname) === nicknameKey(caller.nickname))
      throw new OnairError('call.self', 'you cannot call yourself');
    const callee = await this.#opts.models.User.findOne({
      where: { nicknameKey: nicknameKey(req.nickname) },
      attributes: ['id', 'nickname'],
    });
    if (!callee) throw new OnairError('call.userNotFound', `nobody is called "${req.nickname}"`);
    if (callee.id === caller.userId) throw new OnairError('call.self', 'you cannot call yourself');
    if (!(await this.presence.isOnline(callee.id)))
      throw new OnairError('call.userOffline', `${callee.nickname} is not online`);
    if (await this.#opts.lives.registry.userLive(caller.userId))
      throw new OnairError('live.alreadyLive', 'you are live: stop before calling');

    const now = new Date();
    const call = newCallRecord(
      newPublicId(),
      {
        userId: caller.userId,
        nickname: caller.nickname,
        socketId: caller.socketId,
        instanceId: this.presence.instanceId,
      },
      { userId: callee.id, nickname: callee.nickname },
      now,
    );
    const ringTtl = this.#ttlOf('ringing');
    if (!(await this.#takeSlot(caller.userId, call.id, ringTtl)))
      throw new OnairError('call.busy', 'you are already in a call');
    const calleeBusy =
      (await this.#opts.lives.registry.userLive(callee.id)) !== null ||
      !(await this.#takeSlot(callee.id, call.id, ringTtl));
    if (calleeBusy) {
      await this.#releaseSlot(caller.userId, call.id);
      const busy = end(call, 'busy', now);
      await this.callLog
        .opened(busy)
        .catch((error: unknown) => this.#opts.log.error({ err: error, callId: call.id }, 'could not log a call'));
      this.#tell(busy);
      throw new OnairError('call.busy', `${callee.nickname} is busy`);
    }

    try {
      await this.#store.set(callKey(call.id), JSON.stringify(call), { ttlMs: ringTtl });
      await this.callLog.opened(call);
    } catch (error) {
      await this.#store.del(callKey(call.id)).catch(() => 0);
      await Promise.allSettled([this.#releaseSlot(caller.userId, call.id), this.#releaseSlot(callee.id, call.id)]);
      throw error;
    }
    const timer = setTimeout(() => {
      this.#ringing.delete(call.id);
      void this.#track(
        this.#end(call.id, (c) => (c.state === 'ringing' ? 'missed' : null)).catch((error: unknown) =>
          this.#quiet(error),
        ),
      );
    }, this.#opts.ringTimeoutMs);
    timer.unref();
    this.#ringing.set(call.id, timer);
    this.#tell(call);
    this.#opts.log.info({ callId: call.id, callerId: caller.userId, calleeId: callee.id }, 'call ringing');
    // The inviting connection may have gone while the call was set up: then it is cancelled.
    if (!this.#sockets.has(caller.socketId)) {
      const ended = await this.#end(call.id, (c) => (c.state === 'ringing' ? 'disconnected' : null));
      return { call: viewOf(ended ?? call, this.#opts.avatarUrl) };
    }
    return { call: viewOf(call, this.#opts.avatarUrl) };
  }

  /** The callee answers from this connection. */
  async accept(caller: SocketUser, req: { callId: string }): Promise<{ call: CallView }> {
    this.#open();
    const current = await this.#get(req.callId);
    if (
      sideOf(current, caller.userId) === 'callee' &&
      current.state === 'ringing' &&
      (await this.#opts.lives.registry.userLive(caller.userId))
    ) {
      throw new OnairError('live.alreadyLive', 'you are live: stop before answering');
    }
    const after = await this.#change(req.callId, (call) =>
      accept(call, caller.userId, caller.socketId, this.presence.instanceId, new Date()),
    );
    this.#clearRing(after.id);
    await Promise.all(
      [after.caller.userId, after.callee.userId].map((userId) =>
        this.#store.compareAndSet(slotKey(userId), after.id, after.id, { ttlMs: ACCEPTED_TTL_MS }),
      ),
    );
    await this.callLog
      .changed(after)
      .catch((error: unknown) => this.#opts.log.error({ err: error, callId: after.id }, 'could not log a call'));
    this.#tell(after);
    this.#opts.log.info({ callId: after.id }, 'call accepted');
    if (!this.#sockets.has(caller.socketId)) {
      const ended = await this.#end(after.id, (c) => (c.callee.socketId === caller.socketId ? 'disconnected' : null));
      return { call: viewOf(ended ?? after, this.#opts.avatarUrl) };
    }
    return { call: viewOf(after, this.#opts.avatarUrl) };
  }

  /** The callee declines. */
  reject(caller: SocketUser, req: { callId: string }): Promise<{ call: CallView }> {
    return this.#endBy(caller, req.callId, (call, side) => {
      if (side !== 'callee') throw new OnairError('call.notYours', 'only the person called can reject this call');
      if (call.state === 'accepted')
        throw new OnairError('call.alreadyAnswered', 'this call was already answered: hang up instead');
      return 'rejected';
    });
  }

  /** The caller gives up before an answer. */
  cancel(caller: SocketUser, req: { callId: string }): Promise<{ call: CallView }> {
    return this.#endBy(caller, req.callId, (call, side) => {
      if (side !== 'caller') throw new OnairError('call.notYours', 'only the caller can cancel this call');
      if (call.state === 'accepted')
        throw new OnairError('call.alreadyAnswered', 'this call was already answered: hang up instead');
      return 'cancelled';
    });
  }

  /** Either side ends the call; while it rings, that is a cancel (caller) or a reject (callee). */
  hangUp(caller: SocketUser, req: { callId: string }): Promise<{ call: CallView }> {
    return this.#endBy(caller, req.callId, (call, side) => {
      if (call.state === 'ringing') return side === 'caller' ? 'cancelled' : 'rejected';
      return 'hangUp';
    });
  }

  // ---- media

  /** Reserve this side's live for the call. */
  async present(
    caller: SocketUser,
    req: { callId: string; timeZone?: string | undefined },
  ): Promise<{ liveId: string; iceServers: IceServer[] }> {
    this.#open();
    const call = await this.#get(req.callId);
    const side = this.#carrier(call, caller);
    if (call[side].liveId) throw new OnairError('live.alreadyLive', 'you are already live in this call');
    const peer = call[otherSide(side)];
    const reserved = await this.#opts.lives.startPresenting(caller, {
      title: `Call with ${peer.nickname}`,
      kind: 'call',
      callId: call.id,
      ...(req.timeZone ? { timeZone: req.timeZone } : {}),
    });
    try {
      await this.#change(call.id, (c) => {
        if (c[side].liveId) throw new OnairError('live.alreadyLive', 'you are already live in this call');
        return withLive(c, side, reserved.liveId, false);
      });
    } catch (error) {
      await this.#opts.lives.stopPresenting(caller, { liveId: reserved.liveId }).catch(() => undefined);
      throw error;
    }
    return reserved;
  }

  /** This side's offer; once on air, the other side is told. */
  async offer(
    caller: SocketUser,
    req: { callId: string; liveId: string; sdpOffer: string },
  ): Promise<{ sdpAnswer: string }> {
    this.#open();
    const call = await this.#get(req.callId);
    const side = this.#carrier(call, caller);
    if (call[side].liveId !== req.liveId)
      throw new OnairError('live.notPresenter', `live "${req.liveId}" is not yours in this call`);
    let sdpAnswer: string;
    try {
      ({ sdpAnswer } = await this.#opts.lives.presenterOffer(caller, { liveId: req.liveId, sdpOffer: req.sdpOffer }));
    } catch (error) {
      // The reservation is gone with the failed offer: let this side present again.
      await this.#update(call.id, (c) =>
        c.state === 'accepted' && c[side].liveId === req.liveId
          ? { ...c, [side]: { ...c[side], liveId: null, onAir: false } }
          : null,
      ).catch(() => undefined);
      throw error;
    }
    let after: CallRecord;
    try {
      after = await this.#change(call.id, (c) => {
        if (c[side].liveId !== req.liveId)
          throw new OnairError('live.ended', 'this live is no longer part of the call');
        return withLive(c, side, req.liveId, true);
      });
    } catch (error) {
      await this.#opts.lives.stopPresenting(caller, { liveId: req.liveId }).catch(() => undefined);
      throw error;
    }
    const peer = after[otherSide(side)];
    if (peer.socketId)
      this.#opts.notifier.toSocket(peer.socketId, 'call:peerLive', { callId: call.id, liveId: req.liveId });
    return { sdpAnswer };
  }

  /** Watch the other side's live (once on air). */
  async watch(caller: SocketUser, req: { callId: string }): Promise<{ liveId: string; iceServers: IceServer[] }> {
    this.#open();
    const call = await this.#get(req.callId);
    const side = this.#carrier(call, caller);
    const peer = call[otherSide(side)];
    if (!peer.onAir || !peer.liveId) throw new OnairError('live.notFound', `${peer.nickname} is not on air yet`);
    const { iceServers } = await this.#opts.lives.watchCall(caller, peer.liveId);
    return { liveId: peer.liveId, iceServers };
  }

  /**
   * This connection carries the caller's side of an accepted call from now on (after a dropped connection, or
   * taking it over from one the server still thinks open). Its live is resumed with `presenter:resume` when it
   * waits for that (`liveId`), else this side goes live again (`call:present`); it watches the other side again.
   */
  async resume(
    caller: SocketUser,
    req: { callId: string },
  ): Promise<{ call: CallView; liveId: string | null; iceServers: IceServer[] }> {
    this.#open();
    let previous: string | null = null;
    let liveId: string | null = null;
    const after = await this.#change(req.callId, (call) => {
      const side = sideOf(call, caller.userId);
      if (!side) throw new OnairError('call.notYours', 'this is not your call');
      assertAccepted(call);
      const own = call[side];
      previous = own.socketId;
      liveId = own.liveId && own.onAir && this.#opts.lives.resumable(caller.userId, own.liveId) ? own.liveId : null;
      const media = liveId ? {} : { liveId: null, onAir: false };
      return { ...call, [side]: { ...own, socketId: caller.socketId, instanceId: this.presence.instanceId, ...media } };
    });
    const dropped = previous ? this.#dropped.get(previous) : undefined;
    if (previous && dropped?.callId === after.id) {
      clearTimeout(dropped.timer);
      this.#dropped.delete(previous);
    }
    this.#opts.log.info(
      { callId: after.id, socketId: caller.socketId, resumedLive: liveId },
      'a side of a call resumed',
    );
    if (!this.#sockets.has(caller.socketId)) {
      const ended = await this.#end(after.id, (c) =>
        c.caller.socketId === caller.socketId || c.callee.socketId === caller.socketId ? 'disconnected' : null,
      );
      return { call: viewOf(ended ?? after, this.#opts.avatarUrl), liveId: null, iceServers: [] };
    }
    return {
      call: viewOf(after, this.#opts.avatarUrl),
      liveId,
      iceServers: this.#opts.lives.iceServers(caller.userId),
    };
  }

  // ---- REST

  /** The user's calls, made or received, newest first. */
  history(userId: number, limit: number): Promise<CallView[]> {
    return this.callLog.list(userId, limit);
  }

  // ---- internals

  #open(): void {
    if (this.#closed) throw new OnairError('media.unavailable', 'the server is shutting down');
  }

  async #limitInvites(userId: number): Promise<void> {
    const limit = this.#opts.invitesPerMinute ?? 10;
    const { value } = await this.#store.incr(`ratelimit:callInvite:${userId}`, 1, 60_000);
    if (value > limit) throw new OnairError('request.rateLimited', `at most ${limit} calls a minute: wait a little`);
  }

  /** The side this connection carries in an accepted call. */
  #carrier(call: CallRecord, caller: SocketUser): SideName {
    const side = sideOf(call, caller.userId);
    if (!side) throw new OnairError('call.notYours', 'this is not your call');
    assertAccepted(call);
    if (call[side].socketId !== caller.socketId)
      throw new OnairError('call.notYours', 'this call goes on in another window');
    return side;
  }

  async #endBy(
    caller: SocketUser,
    callId: string,
    reason: (call: CallRecord, side: SideName) => CallEndReason,
  ): Promise<{ call: CallView }> {
    this.#open();
    const ended = await this.#end(callId, (call) => {
      const side = sideOf(call, caller.userId);
      if (!side) throw new OnairError('call.notYours', 'this is not your call');
      if (call.state === 'ended') throw endedError(call);
      return reason(call, side);
    });
    if (!ended) throw endedError(await this.#get(callId).catch(() => ({ outcome: 'failed' as const })));
    return { call: viewOf(ended, this.#opts.avatarUrl) };
  }

  /**
   * End a call for the reason `pick` gives (null: leave it as it is). The winner of the transition frees both
   * users, logs, tells both parties and every process, and releases this process's media. Resolves the ended call.
   */
  async #end(callId: string, pick: (call: CallRecord) => CallEndReason | null): Promise<CallRecord | null> {
    const changed = await this.#update(callId, (call) => {
      if (call.state === 'ended') return null;
      const reason = pick(call);
      return reason ? end(call, reason, new Date()) : null;
    });
    if (!changed) return null;
    const call = changed.after;
    this.#clearRing(call.id);
    await Promise.all([call.caller.userId, call.callee.userId].map((userId) => this.#releaseSlot(userId, call.id)));
    await this.callLog
      .changed(call)
      .catch((error: unknown) => this.#opts.log.error({ err: error, callId }, 'could not log a call'));
    this.#tell(call);
    this.#opts.log.info({ callId, outcome: call.outcome, reason: call.endReason }, 'call ended');
    const message: CallMessage = { type: 'ended', call };
    await this.#store
      .publish(CALLS_CHANNEL, JSON.stringify(message))
      .catch((error: unknown) => this.#opts.log.warn({ err: error }, 'could not publish a call end'));
    await this.#releaseMedia(call);
    return call;
  }

  /**
   * Read-change-compare-and-set until the change applies to the current state. `change` throws to refuse,
   * returns null when there is nothing to do (resolves null then).
   */
  async #update(
    callId: string,
    change: (call: CallRecord) => CallRecord | null,
  ): Promise<{ before: CallRecord; after: CallRecord } | null> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const raw = await this.#store.get(callKey(callId));
      const call = parseCallRecord(raw);
      if (!call) throw await this.#missing(callId);
      const next = change(call);
      if (!next) return null;
      if (
        await this.#store.compareAndSet(callKey(callId), raw, JSON.stringify(next), { ttlMs: this.#ttlOf(next.state) })
      ) {
        return { before: call, after: next };
      }
    }
    throw new OnairError('internal', 'the call changed too often to update it');
  }

  /** `#update` with a change that always applies (or throws). */
  async #change(callId: string, change: (call: CallRecord) => CallRecord): Promise<CallRecord> {
    const changed = await this.#update(callId, change);
    if (!changed) throw new OnairError('internal', 'the call did not change');
    return changed.after;
  }

  async #get(callId: string): Promise<CallRecord> {
    const call = parseCallRecord(await this.#store.get(callKey(callId)));
    if (!call) throw await this.#missing(callId);
    return call;
  }

  /** The error for a call the store does not hold: over (the log knows it) or unknown. */
  async #missing(callId: string): Promise<OnairError> {
    const outcome = await this.callLog.outcomeOf(callId);
    if (!outcome) return new OnairError('call.notFound', `no call with id "${callId}"`);
    return endedError({ outcome: outcome === 'ringing' || outcome === 'answered' ? 'failed' : outcome });
  }

  #ttlOf(state: CallRecord['state']): number {
    if (state === 'ringing') return this.#opts.ringTimeoutMs + 60_000;
    return state === 'accepted' ? ACCEPTED_TTL_MS : ENDED_TTL_MS;
  }

  /** Take the user's call slot for this call; a slot left by a call that is over is taken over. */
  /** Whether a call to this user would be refused as busy: they are live, or part of a call that is not over. */
  async isBusy(userId: number): Promise<boolean> {
    if ((await this.#opts.lives.registry.userLive(userId)) !== null) return true;
    const held = await this.#store.get(slotKey(userId));
    if (!held) return false;
    const call = parseCallRecord(await this.#store.get(callKey(held)));
    return call !== null && call.state !== 'ended';
  }

  async #takeSlot(userId: number, callId: string, ttlMs: number): Promise<boolean> {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.#store.set(slotKey(userId), callId, { nx: true, ttlMs })) return true;
      const held = await this.#store.get(slotKey(userId));
      if (!held) continue;
      const call = parseCallRecord(await this.#store.get(callKey(held)));
      if (call && call.state !== 'ended') return false;
      await this.#store.compareAndSet(slotKey(userId), held, null);
    }
    return false;
  }

  async #releaseSlot(userId: number, callId: string): Promise<void> {
    await this.#store.compareAndSet(slotKey(userId), callId, null);
  }

  /** Every connection of both parties hears the new state. */
  #tell(call: CallRecord): void {
    const view = viewOf(call, this.#opts.avatarUrl);
    this.#opts.notifier.toRoom(userRoom(call.caller.userId), 'call:state', view);
    this.#opts.notifier.toRoom(userRoom(call.callee.userId), 'call:state', view);
  }

  /** Whether a side of this call is carried by a connection of this process (or one waiting to resume here). */
  #carriedHere(call: CallRecord): boolean {
    return [call.caller.socketId, call.callee.socketId].some(
      (id) => id !== null && (this.#sockets.has(id) || this.#dropped.has(id)),
    );
  }

  /**
   * Release what this process's connections hold for an ended call: their lives. Watching ends with the watched
   * live (its viewers are told `live:ended`, their endpoints go with its pipeline).
   */
  async #releaseMedia(call: CallRecord): Promise<void> {
    const work: Promise<unknown>[] = [];
    for (const name of ['caller', 'callee'] as const) {
      const side = call[name];
      const caller = side.socketId ? this.#sockets.get(side.socketId) : undefined;
      // A side whose connection dropped: its live may be waiting here for a resume that will not come.
      if (!caller && side.liveId) work.push(this.#opts.lives.endParked(side.liveId).catch(() => undefined));
      if (side.socketId) {
        clearTimeout(this.#dropped.get(side.socketId)?.timer);
        this.#dropped.delete(side.socketId);
      }
      if (!caller || !side.liveId) continue;
      work.push(this.#opts.lives.stopPresenting(caller, { liveId: side.liveId }).catch(() => undefined));
    }
    await Promise.all(work);
  }

  #clearRing(callId: string): void {
    clearTimeout(this.#ringing.get(callId));
    this.#ringing.delete(callId);
  }

  /** Another process ended a call: release what this one holds of it. */
  #onMessage(message: string): void {
    let parsed: CallMessage;
    try {
      parsed = JSON.parse(message) as CallMessage;
    } catch {
      return;
    }
    if (parsed?.type !== 'ended' || typeof parsed.call?.id !== 'string') return;
    this.#clearRing(parsed.call.id);
    void this.#track(this.#releaseMedia(parsed.call));
  }

  /** A ringing callee with no connection left misses the call. */
  async #calleeOffline(userId: number): Promise<void> {
    const callId = await this.#store.get(slotKey(userId));
    if (!callId) return;
    await this.#end(callId, (call) =>
      call.state === 'ringing' && call.callee.userId === userId ? 'missed' : null,
    ).catch((error: unknown) => this.#quiet(error));
  }

  /** Calls carried by a process that died end for the other side. */
  async #instanceGone(instanceId: string, userIds: number[]): Promise<void> {
    for (const userId of userIds) {
      const callId = await this.#store.get(slotKey(userId));
      if (!callId) continue;
      await this.#end(callId, (call) =>
        call.caller.instanceId === instanceId || call.callee.instanceId === instanceId ? 'disconnected' : null,
      ).catch((error: unknown) => this.#quiet(error));
    }
  }

  /** Calls the log shows as going on but the store forgot (every process stopped meanwhile) failed. */
  async #reconcile(): Promise<void> {
    const now = new Date();
    for (const callId of await this.callLog.openCalls(500)) {
      if (!(await this.#store.get(callKey(callId)))) await this.callLog.markFailed(callId, now);
    }
  }

  #track<T>(work: Promise<T>): Promise<T | undefined> {
    const tracked = work.catch((error: unknown) => {
      this.#opts.log.error({ err: error }, 'call bookkeeping failed');
      return undefined;
    });
    this.#work.add(tracked);
    void tracked.finally(() => this.#work.delete(tracked));
    return tracked;
  }

  #quiet(error: unknown): void {
    if ((contractError(error)?.status ?? 500) < 500) return;
    throw error;
  }
}

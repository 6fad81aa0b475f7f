import { randomUUID } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { OnairError } from '../contract/errors.js';
import type {
  IceCandidateInit,
  IceServer,
  LiveEndReason,
  LiveSummary,
  Role,
  ServerToClientEvents,
} from '../contract/signalling.js';
import { newPublicId } from '../db/ids.js';
import { SafeEmitter } from '../../media/SafeEmitter.js';
import type { Logger } from '../logger.js';
import type { Store, Unsubscribe } from '../store/Store.js';
import { IceCandidateQueue } from '../../media/IceCandidateQueue.js';
import { recordingContainerFor, type Live, type LiveEnd } from '../../media/Live.js';
import type { MediaServer } from '../../media/MediaServer.js';
import { iceServersFor, type TurnSettings } from './iceServers.js';
import type { LiveArchive } from './LiveArchive.js';
import { LiveRegistry, type LiveEntry } from './LiveRegistry.js';
import { locationFromTimeZone } from './location.js';

/** Who is asking: the signed-in user behind a socket. */
export interface Caller {
  userId: number;
  nickname: string;
  /** The socket's server-side id: candidate queues and viewer endpoints are keyed by it. */
  socketId: string;
}

/** How the service reaches sockets, on this process or (through the socket.io adapter) any other. */
export interface Notifier {
  toSocket<E extends keyof ServerToClientEvents>(
    socketId: string,
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ): void;
  toRoom<E extends keyof ServerToClientEvents>(
    room: string,
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ): void;
  join(socketId: string, room: string): void;
  leave(socketId: string, room: string): void;
}

export interface LiveServiceOptions {
  media: () => MediaServer | null;
  store: Store;
  archive: LiveArchive;
  notifier: Notifier;
  log: Logger;
  recordingsDir: string;
  turn: TurnSettings;
  avatarUrl: (userId: number) => string;
  /** A reserved live whose offer does not come within this time is released. */
  setupTimeoutMs?: number;
  /** Whether lives of kind 'call' are recorded. */
  recordCalls?: boolean;
}

/** Rooms: a live's audience (viewers and presenter get `live:ended`), and its presenter alone. */
export const rooms = {
  audience: (liveId: string) => `live:${liveId}`,
  presenter: (liveId: string) => `presenter:${liveId}`,
  everyone: 'signed-in',
};

interface Presenting {
  liveId: string;
  kind: 'broadcast' | 'call';
  callId: string | undefined;
  title: string;
  location: string;
  stage: 'reserved' | 'starting' | 'live' | 'ending';
  setupTimer: NodeJS.Timeout | undefined;
  /** Whether the live and its recording are in the database (a live that never got there leaves no file). */
  archived: boolean;
  /** The recording's file, once the media server was asked to write it. */
  recordingFile: string | undefined;
  /** Publishing to the registry and the database, once under way. */
  archiving: Promise<void> | undefined;
}

interface SocketState {
  caller: Caller;
  presenting: Presenting | undefined;
  /** Lives this socket watches, with the stage of each. */
  watching: Map<string, 'joined' | 'negotiating' | 'watching'>;
}

const LIVES_CHANNEL = 'lives';

/**
 * Going live and watching: the rules of onair around the media layer. Each socket's state is kept here;
 * media objects are kept by their owners in media/ (MediaServer → Live → Endpoint). Every handler validates,
 * authorises, looks up, then acts, and re-checks after each await that the socket still wants what it asked.
 */
/** A live of this process is over (after its bookkeeping): the calls layer ends a call whose live failed. */
export interface LiveEndedEvent {
  liveId: string;
  kind: 'broadcast' | 'call';
  callId: string | undefined;
  reason: LiveEndReason;
}

export class LiveService extends SafeEmitter<{ ended: [LiveEndedEvent] }> {
  readonly registry: LiveRegistry;
  readonly #opts: LiveServiceOptions;
  readonly #queue = new IceCandidateQueue();
  readonly #sockets = new Map<string, SocketState>();
  /** Lives being ended on request (stop, socket gone), by id. */
  readonly #endings = new Map<string, Promise<void>>();
  /** Bookkeeping of lives that ended (recording stored, everyone told), by id. */
  readonly #finishing = new Map<string, Promise<void>>();
  /** Lives (of this process, owned or attached) whose media events this service listens to. */
  readonly #wired = new WeakSet<Live>();
  #unsubscribe: Unsubscribe | undefined;
  #closed = false;

  constructor(opts: LiveServiceOptions) {
    super();
    this.#opts = opts;
    this.registry = new LiveRegistry(opts.store, randomUUID(), opts.avatarUrl);
  }

  async start(): Promise<void> {
    await this.registry.start();
    this.#unsubscribe = await this.#opts.store.subscribe(LIVES_CHANNEL, (message) => this.#onLivesMessage(message));
    const interrupted = await this.#opts.archive.closeInterrupted(async (id) => (await this.registry.get(id)) !== null);
    if (interrupted.length)
      this.#opts.log.warn({ lives: interrupted }, 'lives left on air by a stopped server were closed as interrupted');
    // Pipelines of this deployment that no live on air owns (a crash, a redeploy) are released, now and on the
    // media server's reconciliation timer.
    const media = this.#opts.media();
    if (media) {
      media.setOwnershipCheck((liveId) => this.registry.holds(liveId));
      await media
        .releaseOrphans()
        .catch((error: unknown) => this.#opts.log.warn({ err: error }, 'could not release orphan pipelines'));
    }
  }

  /** End every live this process owns (recordings are finalised) and stop. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const state of this.#sockets.values()) clearTimeout(state.presenting?.setupTimer);
    await Promise.all([...this.#sockets.values()].map((s) => this.socketGone(s.caller.socketId)));
    await Promise.all(this.#endings.values());
    await Promise.all(this.#finishing.values());
    await this.#unsubscribe?.();
    this.#queue.clear();
    await this.registry.close();
  }

  // ---- sockets

  socketJoined(caller: Caller): void {
    this.#sockets.set(caller.socketId, { caller, presenting: undefined, watching: new Map() });
    this.#opts.notifier.join(caller.socketId, rooms.everyone);
  }

  /** A socket went away: its live ends (the recording is kept), its viewer endpoints are released. */
  async socketGone(socketId: string): Promise<void> {
    const state = this.#sockets.get(socketId);
    if (!state) return;
    this.#sockets.delete(socketId);
    const work: Promise<unknown>[] = [...state.watching.keys()].map((liveId) => this.#leave(state, liveId));
    if (state.presenting) work.push(this.#abandon(state.presenting, state.caller, 'presenterLeft'));
    await Promise.allSettled(work);
  }

  // ---- presenter

  /** Reserve a live for the caller (one at a time); the offer follows. */
  async startPresenting(
    caller: Caller,
    req: { title: string; timeZone?: string | undefined; kind?: 'broadcast' | 'call'; callId?: string },
  ): Promise<{ liveId: string; iceServers: IceServer[] }> {
    const state = this.#state(caller);
    if (state.presenting) throw new OnairError('live.alreadyLive', 'this connection is already presenting a live');
    this.#media();
    const liveId = newPublicId();
    const kind = req.kind ?? 'broadcast';
    if (!(await this.registry.lockUser(caller.userId, liveId))) {
      const current = await this.registry.userLive(caller.userId);
      if (current || !(await this.registry.lockUser(caller.userId, liveId))) {
        throw new OnairError('live.alreadyLive', 'you are already live (or in a call)');
      }
    }
    if (!this.#sockets.has(caller.socketId) || state.presenting) {
      await this.registry.unlockUser(caller.userId, liveId);
      throw new OnairError('live.alreadyLive', 'this connection is already presenting a live');
    }
    const presenting: Presenting = {
      liveId,
      kind,
      callId: req.callId,
      title: req.title,
      location: locationFromTimeZone(req.timeZone),
      stage: 'reserved',
      setupTimer: undefined,
      archived: false,
      recordingFile: undefined,
      archiving: undefined,
    };
    state.presenting = presenting;
    presenting.setupTimer = setTimeout(() => {
      if (presenting.stage === 'reserved') void this.#abandon(presenting, caller, 'failed');
    }, this.#opts.setupTimeoutMs ?? 30_000);
    presenting.setupTimer.unref();
    await this.registry.reserve({
      id: liveId,
      kind,
      title: req.title,
      userId: caller.userId,
      nickname: caller.nickname,
      ...(req.callId ? { callId: req.callId } : {}),
    });
    return { liveId, iceServers: this.iceServers(caller.userId) };
  }

  /**
   * The presenter's offer: pipeline, loopback, recorder; resolves with the SDP answer. `loopback: false` (WHIP: the
   * encoder does not play) leaves the preview out.
   */
  async presenterOffer(
    caller: Caller,
    req: { liveId: string; sdpOffer: string; loopback?: boolean },
  ): Promise<{ sdpAnswer: string }> {
    const state = this.#state(caller);
    const presenting = state.presenting;
    if (!presenting || presenting.liveId !== req.liveId)
      throw new OnairError('live.notPresenter', `you are not the presenter of live "${req.liveId}"`);
    if (presenting.stage !== 'reserved')
      throw new OnairError('request.invalid', 'the offer for this live was already sent');
    const media = this.#media();
    presenting.stage = 'starting';
    clearTimeout(presenting.setupTimer);
    const { liveId } = presenting;
    const record = presenting.kind === 'broadcast' || this.#opts.recordCalls === true;
    const fileName = `${liveId}.${recordingContainerFor(req.sdpOffer)}`;
    const recordingUri = record ? pathToFileURL(path.join(this.#opts.recordingsDir, fileName)).href : null;
    if (record) presenting.recordingFile = path.join(this.#opts.recordingsDir, fileName);
    let started: { live: Live; answer: string };
    try {
      started = await media.startLive(liveId, {
        offer: req.sdpOffer,
        recordingUri,
        ...(req.loopback === false ? { loopback: false } : {}),
        onCandidate: (candidate) =>
          this.#opts.notifier.toSocket(caller.socketId, 'ice:candidate', { liveId, role: 'presenter', candidate }),
      });
    } catch (error) {
      if (state.presenting === presenting) state.presenting = undefined;
      this.#queue.drop(queueKey(caller.socketId, liveId, 'presenter'));
      await this.registry.unlockUser(caller.userId, liveId);
      await this.registry.remove(liveId);
      await this.#discardRecording(presenting);
      throw error;
    }
    const { live, answer } = started;
    const startedAt = new Date();
    live.once('ended', (end) => void this.#finish(live, presenting, caller, startedAt, end));
    this.#wire(live);
    live.on('recordingFailed', (description) => {
      this.#opts.log.error({ liveId, err: description }, 'the recorder of a live failed: its recording is incomplete');
      this.#opts.notifier.toSocket(caller.socketId, 'live:recordingFailed', { liveId });
    });
    if (state.presenting !== presenting || !this.#sockets.has(caller.socketId) || presenting.stage !== 'starting') {
      await live.end('presenterLeft');
      throw new OnairError('live.ended', 'the live ended during set-up');
    }
    presenting.stage = 'live';
    await this.#drain(caller.socketId, liveId, 'presenter', live);
    if (live.closed) throw new OnairError('live.ended', 'the live ended during set-up');
    // Registry first: a `live` row is always on air somewhere, or left by a crash (see start()). The end of the
    // live waits for this (so that it never publishes, or archives, after the live is over).
    presenting.archiving = (async () => {
      await this.registry.publish(liveId, {
        pipelineId: live.pipelineId,
        presenterEndpointId: live.presenterEndpointId ?? '',
        startedAt,
      });
      await this.#opts.archive.liveStarted({
        id: liveId,
        userId: caller.userId,
        title: presenting.title,
        kind: presenting.kind,
        startedAt,
        recording: recordingUri ? { fileName, location: presenting.location } : null,
      });
      presenting.archived = true;
    })();
    await presenting.archiving;
    this.#opts.notifier.join(caller.socketId, rooms.presenter(liveId));
    this.#opts.notifier.join(caller.socketId, rooms.audience(liveId));
    if (presenting.kind === 'broadcast') await this.#announce(liveId);
    return { sdpAnswer: answer };
  }

  /** End the caller's live; resolves once the recording is stored. */
  async stopPresenting(caller: Caller, req: { liveId: string }): Promise<{ recordingId: number | null }> {
    const state = this.#state(caller);
    const presenting = state.presenting;
    if (!presenting || presenting.liveId !== req.liveId)
      throw new OnairError('live.notPresenter', `you are not the presenter of live "${req.liveId}"`);
    await this.#abandon(presenting, caller, 'stopped');
    return { recordingId: await this.#opts.archive.recordingIdOf(req.liveId) };
  }

  // ---- viewer

  async watch(caller: Caller, req: { liveId: string }): Promise<{ live: LiveSummary; iceServers: IceServer[] }> {
    const state = this.#state(caller);
    const entry = await this.#entry(req.liveId);
    if (entry.kind === 'call') throw new OnairError('live.notFound', `no live with id "${req.liveId}"`);
    if (state.watching.has(req.liveId)) throw new OnairError('request.invalid', 'already watching this live');
    state.watching.set(req.liveId, 'joined');
    this.#opts.notifier.join(caller.socketId, rooms.audience(req.liveId));
    return { live: this.registry.summary(entry), iceServers: this.iceServers(caller.userId) };
  }

  /** Watch a live whose kind is 'call' (the calls layer authorises the caller). */
  async watchCall(caller: Caller, liveId: string): Promise<{ iceServers: IceServer[] }> {
    const state = this.#state(caller);
    await this.#entry(liveId);
    if (!state.watching.has(liveId)) state.watching.set(liveId, 'joined');
    this.#opts.notifier.join(caller.socketId, rooms.audience(liveId));
    return { iceServers: this.iceServers(caller.userId) };
  }

  async viewerOffer(caller: Caller, req: { liveId: string; sdpOffer: string }): Promise<{ sdpAnswer: string }> {
    const state = this.#state(caller);
    const { liveId } = req;
    if (state.watching.get(liveId) !== 'joined')
      throw new OnairError('live.notWatching', `watch live "${liveId}" before sending an offer`);
    const media = this.#media();
    state.watching.set(liveId, 'negotiating');
    try {
      const entry = await this.#entry(liveId);
      const live =
        media.live(liveId) ?? (await media.attachLive(liveId, entry.pipelineId ?? '', entry.presenterEndpointId ?? ''));
      this.#wire(live);
      const answer = await live.addViewer(caller.socketId, req.sdpOffer, (candidate) =>
        this.#opts.notifier.toSocket(caller.socketId, 'ice:candidate', { liveId, role: 'viewer', candidate }),
      );
      if (state.watching.get(liveId) !== 'negotiating' || !this.#sockets.has(caller.socketId)) {
        await live.removeViewer(caller.socketId);
        throw new OnairError('live.notWatching', 'stopped watching during set-up');
      }
      state.watching.set(liveId, 'watching');
      await this.#drain(caller.socketId, liveId, 'viewer', live);
      const figures = await this.registry.countViewer(liveId, 1);
      if (figures) await this.#viewerChanged(liveId, caller, 'live:viewerJoined', figures.viewers, entry);
      return { sdpAnswer: answer };
    } catch (error) {
      if (state.watching.get(liveId) === 'negotiating') state.watching.set(liveId, 'joined');
      throw error;
    }
  }

  async leave(caller: Caller, req: { liveId: string }): Promise<object> {
    const state = this.#state(caller);
    if (!state.watching.has(req.liveId))
      throw new OnairError('live.notWatching', `you are not watching live "${req.liveId}"`);
    await this.#leave(state, req.liveId);
    return {};
  }

  // ---- ICE

  /** A browser candidate: applied now if its endpoint takes candidates, else queued (bounded, with a TTL). */
  async addCandidate(
    caller: Caller,
    req: { liveId: string; role: Role; candidate: IceCandidateInit },
  ): Promise<object> {
    const state = this.#state(caller);
    const { liveId, role } = req;
    if (role === 'presenter' && state.presenting?.liveId !== liveId)
      throw new OnairError('live.notPresenter', `you are not the presenter of live "${liveId}"`);
    if (role === 'viewer' && !state.watching.has(liveId))
      throw new OnairError('live.notWatching', `you are not watching live "${liveId}"`);
    const endpoint = this.#opts
      .media()
      ?.live(liveId)
      ?.endpoint(role, role === 'viewer' ? caller.socketId : undefined);
    if (endpoint?.acceptsCandidates) {
      await endpoint.addCandidate(req.candidate);
      return {};
    }
    // Bounded per account (its share of the queue in bytes) as well as overall.
    if (!this.#queue.push(queueKey(caller.socketId, liveId, role), req.candidate, `user:${caller.userId}`)) {
      throw new OnairError('request.rateLimited', 'too many ICE candidates waiting for this session');
    }
    return {};
  }

  // ---- REST

  async list(): Promise<LiveSummary[]> {
    return (await this.registry.list()).map((e) => this.registry.summary(e));
  }

  async get(liveId: string): Promise<LiveSummary> {
    const entry = await this.#entry(liveId);
    if (entry.kind === 'call') throw new OnairError('live.notFound', `no live with id "${liveId}"`);
    return this.registry.summary(entry);
  }

  iceServers(userId: number): IceServer[] {
    return iceServersFor(userId, this.#opts.turn);
  }

  /** The media server is gone: every live of this process has already ended through its local path. */
  mediaLost(): void {
    this.#opts.log.warn({ sockets: this.#sockets.size }, 'media server lost');
  }

  // ---- internals

  #state(caller: Caller): SocketState {
    if (this.#closed) throw new OnairError('media.unavailable', 'the server is shutting down');
    const state = this.#sockets.get(caller.socketId);
    if (!state) throw new OnairError('auth.required', 'this connection is not signed in');
    return state;
  }

  #media(): MediaServer {
    const media = this.#opts.media();
    if (!media?.available) throw new OnairError('media.unavailable', 'the media server is unavailable');
    return media;
  }

  async #entry(liveId: string): Promise<LiveEntry> {
    const entry = await this.registry.get(liveId);
    if (!entry) throw new OnairError('live.notFound', `no live with id "${liveId}"`);
    return entry;
  }

  async #drain(socketId: string, liveId: string, role: Role, live: Live): Promise<void> {
    const endpoint = live.endpoint(role, role === 'viewer' ? socketId : undefined);
    for (const candidate of this.#queue.take(queueKey(socketId, liveId, role))) {
      try {
        await endpoint?.addCandidate(candidate);
      } catch (error) {
        this.#opts.log.warn({ liveId, role, err: error }, 'a queued ICE candidate was refused');
      }
    }
  }

  /** End (or give up) the caller's live. Idempotent per live. */
  #abandon(presenting: Presenting, caller: Caller, reason: LiveEndReason): Promise<void> {
    const existing = this.#endings.get(presenting.liveId);
    if (existing) return existing;
    const ending = (async () => {
      clearTimeout(presenting.setupTimer);
      const previous = presenting.stage;
      presenting.stage = 'ending';
      const live = this.#opts.media()?.live(presenting.liveId);
      if (live) {
        await live.end(reason);
        await this.#finishing.get(presenting.liveId);
        return;
      }
      if (previous === 'reserved' || previous === 'starting') {
        // Not on the media server yet (or set-up is failing there): presenterOffer cleans up what it created.
        const state = this.#sockets.get(caller.socketId);
        if (state?.presenting === presenting) state.presenting = undefined;
        this.#queue.drop(queueKey(caller.socketId, presenting.liveId, 'presenter'));
        if (previous === 'reserved') {
          await this.registry.unlockUser(caller.userId, presenting.liveId);
          await this.registry.remove(presenting.liveId);
        }
      }
    })().finally(() => this.#endings.delete(presenting.liveId));
    this.#endings.set(presenting.liveId, ending);
    return ending;
  }

  /** Bookkeeping once a live this process owns is over, however it ended. */
  async #finish(live: Live, presenting: Presenting, caller: Caller, startedAt: Date, end: LiveEnd): Promise<void> {
    const { liveId } = presenting;
    const work = (async () => {
      await presenting.archiving?.catch(() => undefined);
      const state = this.#sockets.get(caller.socketId);
      if (state?.presenting === presenting) state.presenting = undefined;
      // Ended before it was ever on air (the presenter dropped mid-offer): no row will ever own the file.
      if (!presenting.archived) await this.#discardRecording(presenting);
      const figures = await this.registry.figures(liveId);
      await this.registry.remove(liveId);
      await this.registry.unlockUser(caller.userId, liveId);
      const endedAt = new Date();
      let recordingId: number | null = null;
      try {
        recordingId = await this.#opts.archive.liveEnded({
          id: liveId,
          endedAt,
          startedAt,
          reason: end.reason,
          peakViewers: figures?.peakViewers ?? 0,
          totalViewers: figures?.totalViewers ?? 0,
          recordingStopped: end.recording?.stopped ?? false,
        });
      } catch (error) {
        this.#opts.log.error({ liveId, err: error }, 'could not store the end of a live');
      }
      const reason: LiveEndReason = end.reason === 'endedElsewhere' ? 'stopped' : end.reason;
      this.#opts.notifier.toRoom(rooms.audience(liveId), 'live:ended', { liveId, reason, recordingId });
      if (presenting.kind === 'broadcast') this.#opts.notifier.toRoom(rooms.everyone, 'lives:removed', { liveId });
      await this.#opts.store.publish(LIVES_CHANNEL, JSON.stringify({ type: 'ended', liveId }));
      this.#opts.log.info(
        { liveId, reason: end.reason, recordingId, durationMs: endedAt.getTime() - startedAt.getTime() },
        'live ended',
      );
      this.safeEmit('ended', { liveId, kind: presenting.kind, callId: presenting.callId, reason });
    })().catch((error) => this.#opts.log.error({ liveId, err: error }, 'live bookkeeping failed'));
    this.#finishing.set(liveId, work);
    await work;
    this.#finishing.delete(liveId);
  }

  /** Delete the file of a recording that no database row owns (a live that never went on air). */
  async #discardRecording(presenting: Presenting): Promise<void> {
    const file = presenting.recordingFile;
    if (!file || presenting.archived) return;
    presenting.recordingFile = undefined;
    await unlink(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') this.#opts.log.warn({ file, err: error }, 'could not delete an unused recording');
    });
  }

  /** Listen to a live's media events on this process (once per live). */
  #wire(live: Live): void {
    if (this.#wired.has(live)) return;
    this.#wired.add(live);
    live.on('viewerClosed', (key) => void this.#viewerLost(live, key));
    live.on('mediaError', (role, description) =>
      this.#opts.log.warn({ liveId: live.id, role, err: description }, 'the media server reported an error'),
    );
  }

  /**
   * A viewer's endpoint went away while the viewer still watched (released on the media server behind our back):
   * the viewer is counted out and the presenter told; the viewer may send a new offer.
   */
  async #viewerLost(live: Live, socketId: string): Promise<void> {
    if (live.closed) return;
    const state = this.#sockets.get(socketId);
    if (!state || state.watching.get(live.id) !== 'watching') return;
    state.watching.set(live.id, 'joined');
    this.#queue.drop(queueKey(socketId, live.id, 'viewer'));
    this.#opts.log.warn({ liveId: live.id, socketId }, "a viewer's endpoint was released on the media server");
    const figures = await this.registry.countViewer(live.id, -1);
    const entry = await this.registry.get(live.id);
    if (figures && entry) await this.#viewerChanged(live.id, state.caller, 'live:viewerLeft', figures.viewers, entry);
  }

  async #leave(state: SocketState, liveId: string): Promise<void> {
    const stage = state.watching.get(liveId);
    state.watching.delete(liveId);
    this.#queue.drop(queueKey(state.caller.socketId, liveId, 'viewer'));
    this.#opts.notifier.leave(state.caller.socketId, rooms.audience(liveId));
    const live = this.#opts.media()?.live(liveId);
    await live?.removeViewer(state.caller.socketId);
    if (stage !== 'watching' || !live || live.closed) return;
    const figures = await this.registry.countViewer(liveId, -1);
    const entry = await this.registry.get(liveId);
    if (figures && entry) await this.#viewerChanged(liveId, state.caller, 'live:viewerLeft', figures.viewers, entry);
  }

  async #viewerChanged(
    liveId: string,
    caller: Caller,
    event: 'live:viewerJoined' | 'live:viewerLeft',
    viewerCount: number,
    entry: LiveEntry,
  ): Promise<void> {
    this.#opts.notifier.toRoom(rooms.presenter(liveId), event, {
      liveId,
      viewer: { id: caller.userId, nickname: caller.nickname, avatarUrl: this.#opts.avatarUrl(caller.userId) },
      at: new Date().toISOString(),
      viewerCount,
    });
    if (entry.kind === 'broadcast')
      this.#opts.notifier.toRoom(rooms.everyone, 'lives:updated', { ...this.registry.summary(entry), viewerCount });
  }

  async #announce(liveId: string): Promise<void> {
    const entry = await this.registry.get(liveId);
    if (entry) this.#opts.notifier.toRoom(rooms.everyone, 'lives:updated', this.registry.summary(entry));
  }

  /** Another process ended a live: release what this process holds of it. */
  #onLivesMessage(message: string): void {
    let parsed: { type?: string; liveId?: string };
    try {
      parsed = JSON.parse(message) as typeof parsed;
    } catch {
      return;
    }
    if (parsed.type !== 'ended' || typeof parsed.liveId !== 'string') return;
    const liveId = parsed.liveId;
    const live = this.#opts.media()?.live(liveId);
    if (live && !live.owner) void live.gone('endedElsewhere');
    for (const state of this.#sockets.values()) {
      if (state.watching.delete(liveId)) {
        this.#queue.drop(queueKey(state.caller.socketId, liveId, 'viewer'));
        this.#opts.notifier.leave(state.caller.socketId, rooms.audience(liveId));
      }
    }
  }
}

function queueKey(socketId: string, liveId: string, role: Role): string {
  return `${socketId}|${liveId}|${role}`;
}

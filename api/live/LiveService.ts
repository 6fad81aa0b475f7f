import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { GoneMember, Membership } from '../cluster/Membership.js';
import { OnairError } from '../contract/errors.js';
import type { LiveKind } from '../contract/rest.js';
import type { IceCandidateInit, IceServer, LiveEndReason, LiveSummary, Role } from '../contract/signalling.js';
import { newPublicId } from '../db/ids.js';
import { SafeEmitter } from '../../media/SafeEmitter.js';
import type { Logger } from '../logger.js';
import type { Store, Unsubscribe } from '../store/Store.js';
import { IceCandidateQueue } from './IceCandidateQueue.js';
import { recordingContainerFor, type Live, type LiveEnd } from '../../media/Live.js';
import type { MediaPool } from '../../media/MediaPool.js';
import { iceServersFor, type TurnSettings } from './iceServers.js';
import type { LiveArchive } from './LiveArchive.js';
import { LiveRegistry, type LiveEntry } from './LiveRegistry.js';
import { locationFromTimeZone } from './location.js';
import { rooms, type Notifier, type SocketUser } from '../signalling/sockets.js';

export interface LiveServiceOptions {
  /** The media servers (one pool): lives are placed by load, viewers join their live's server. */
  media: () => MediaPool | null;
  store: Store;
  archive: LiveArchive;
  notifier: Notifier;
  log: Logger;
  recordingsDir: string;
  turn: TurnSettings;
  avatarUrl: (userId: number) => string;
  /** Which API processes are alive: this process's lives are held under its id; a dead one's are taken over. */
  membership: Membership;
  /** A reserved live whose offer does not come within this time is released. */
  setupTimeoutMs?: number;
  /** Whether lives of kind 'call' are recorded. */
  recordCalls?: boolean;
  /**
   * How long a live on air waits for its presenter's dropped connection to come back (`presenter:resume`) before it
   * ends ('presenterLeft'); 0 (the default here; RESUME_GRACE_MS in the app): it ends at once.
   */
  resumeGraceMs?: number;
}

interface Presenting {
  liveId: string;
  /** The connection presenting now (another one after `presenter:resume`). */
  presenter: SocketUser;
  /** A `presenter:resume` is under way: the presenter's candidates wait for its new endpoint. */
  resuming: boolean;
  kind: LiveKind;
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
  caller: SocketUser;
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
  kind: LiveKind;
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
  /** Lives on air whose presenter's connection dropped, waiting (a grace period) for it to resume, by id. */
  readonly #parked = new Map<string, { presenting: Presenting; timer: NodeJS.Timeout }>();
  /** Lives (of this process, owned or attached) whose media events this service listens to. */
  readonly #wired = new WeakSet<Live>();
  #unsubscribe: Unsubscribe | undefined;
  #closed = false;

  constructor(opts: LiveServiceOptions) {
    super();
    this.#opts = opts;
    this.registry = new LiveRegistry(opts.store, opts.membership, opts.avatarUrl);
    opts.membership.onGone('lives', (member) => this.processGone(member));
  }

  async start(): Promise<void> {
    this.#unsubscribe = await this.#opts.store.subscribe(LIVES_CHANNEL, (message) => this.#onLivesMessage(message));
    const interrupted = await this.#opts.archive.closeInterrupted((id) => this.registry.holds(id));
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
    await Promise.all([...this.#parked.keys()].map((liveId) => this.endParked(liveId)));
    await Promise.all(this.#endings.values());
    await Promise.all(this.#finishing.values());
    await this.#unsubscribe?.();
    this.#queue.clear();
    await this.registry.close();
  }

  // ---- sockets

  socketJoined(caller: SocketUser): void {
    this.#sockets.set(caller.socketId, { caller, presenting: undefined, watching: new Map() });
    this.#opts.notifier.join(caller.socketId, rooms.everyone);
  }

  /** A socket went away: its live ends (the recording is kept), its viewer endpoints are released. */
  async socketGone(socketId: string): Promise<void> {
    const state = this.#sockets.get(socketId);
    if (!state) return;
    this.#sockets.delete(socketId);
    const work: Promise<unknown>[] = [...state.watching.keys()].map((liveId) => this.#leave(state, liveId));
    if (state.presenting && !this.#park(state.presenting))
      work.push(this.#abandon(state.presenting, state.caller, 'presenterLeft'));
    await Promise.allSettled(work);
  }

  /**
   * The presenter's connection dropped while on air: with a grace period, the live stays on air (listed, recording,
   * its viewers told `live:presenterReconnecting`) until `presenter:resume` or the grace runs out. Returns whether
   * the live was kept.
   */
  #park(presenting: Presenting): boolean {
    const grace = this.#opts.resumeGraceMs ?? 0;
    const live = this.#opts.media()?.live(presenting.liveId);
    if (this.#closed || grace <= 0 || presenting.stage !== 'live' || !live || live.closed) return false;
    const { liveId } = presenting;
    this.#queue.drop(queueKey(presenting.presenter.socketId, liveId, 'presenter'));
    const timer = setTimeout(() => void this.endParked(liveId), grace);
    timer.unref();
    this.#parked.set(liveId, { presenting, timer });
    this.#opts.log.info({ liveId, graceMs: grace }, "the presenter's connection dropped: waiting for it to resume");
    this.#opts.notifier.toRoom(rooms.audience(liveId), 'live:presenterReconnecting', { liveId, graceMs: grace });
    return true;
  }

  /** End a live waiting for its presenter to resume ('presenterLeft'), if this process holds one. */
  async endParked(liveId: string): Promise<void> {
    const parked = this.#parked.get(liveId);
    if (!parked) return;
    this.#unpark(liveId);
    await this.#abandon(parked.presenting, parked.presenting.presenter, 'presenterLeft');
  }

  #unpark(liveId: string): void {
    const parked = this.#parked.get(liveId);
    if (!parked) return;
    clearTimeout(parked.timer);
    this.#parked.delete(liveId);
  }

  // ---- presenter

  /** Reserve a live for the caller (one at a time); the offer follows. */
  async startPresenting(
    caller: SocketUser,
    req: { title: string; timeZone?: string | undefined; kind?: LiveKind; callId?: string },
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
      presenter: caller,
      resuming: false,
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
    caller: SocketUser,
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
    let started: { live: Live; answer: string; serverId: string };
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
    const { live, answer, serverId } = started;
    const startedAt = new Date();
    live.once('ended', (end) => void this.#finish(live, presenting, caller, startedAt, end));
    this.#wire(live);
    live.on('recordingFailed', (description) => {
      this.#opts.log.error({ liveId, err: description }, 'the recorder of a live failed: its recording is incomplete');
      this.#opts.notifier.toSocket(presenting.presenter.socketId, 'live:recordingFailed', { liveId });
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
        mediaServer: serverId,
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

  /**
   * The presenter is back on a new connection (same account) within the grace period, or takes its live over from
   * a connection of its own that the server still thinks open (a network change): a new endpoint in the same
   * pipeline feeds the same recorder and viewers (one live, one recording). Resolves with the SDP answer.
   */
  async resumePresenting(
    caller: SocketUser,
    req: { liveId: string; sdpOffer: string },
  ): Promise<{ sdpAnswer: string; viewerCount: number }> {
    const state = this.#state(caller);
    if (state.presenting) throw new OnairError('live.alreadyLive', 'this connection is already presenting a live');
    const { liveId } = req;
    const presenting = this.#parked.get(liveId)?.presenting ?? this.#presentingElsewhere(caller.userId, liveId);
    if (!presenting || presenting.presenter.userId !== caller.userId || presenting.stage !== 'live')
      throw new OnairError('live.notPresenter', `live "${liveId}" has no presenter of yours to resume here`);
    const live = this.#opts.media()?.live(liveId);
    if (!live || live.closed) throw new OnairError('live.ended', 'the live is over');
    this.#unpark(liveId);
    const previous = this.#sockets.get(presenting.presenter.socketId);
    if (previous?.presenting === presenting) {
      previous.presenting = undefined;
      this.#opts.notifier.leave(previous.caller.socketId, rooms.presenter(liveId));
    }
    this.#queue.drop(queueKey(presenting.presenter.socketId, liveId, 'presenter'));
    presenting.presenter = caller;
    presenting.resuming = true;
    state.presenting = presenting;
    let sdpAnswer: string;
    try {
      sdpAnswer = await live.resumePresenter({
        offer: req.sdpOffer,
        onCandidate: (candidate) =>
          this.#opts.notifier.toSocket(caller.socketId, 'ice:candidate', { liveId, role: 'presenter', candidate }),
      });
    } catch (error) {
      presenting.resuming = false;
      if (state.presenting === presenting) state.presenting = undefined;
      this.#queue.drop(queueKey(caller.socketId, liveId, 'presenter'));
      // The presenter may try again within a new grace period (or the live ends when it runs out).
      if (!live.closed && presenting.stage === 'live' && !this.#park(presenting))
        await this.#abandon(presenting, caller, 'presenterLeft');
      throw error;
    }
    presenting.resuming = false;
    if (state.presenting !== presenting || !this.#sockets.has(caller.socketId)) {
      if (!this.#park(presenting)) await this.#abandon(presenting, caller, 'presenterLeft');
      throw new OnairError('live.notPresenter', 'the connection went away while resuming');
    }
    await this.#drain(caller.socketId, liveId, 'presenter', live);
    const endpointId = live.presenterEndpointId;
    if (endpointId) {
      await this.registry.setPresenterEndpoint(liveId, endpointId);
      await this.#opts.store.publish(LIVES_CHANNEL, JSON.stringify({ type: 'resumed', liveId, endpointId }));
    }
    this.#opts.notifier.join(caller.socketId, rooms.presenter(liveId));
    this.#opts.notifier.join(caller.socketId, rooms.audience(liveId));
    this.#opts.notifier.toRoom(rooms.audience(liveId), 'live:presenterResumed', { liveId });
    this.#opts.log.info({ liveId, socketId: caller.socketId }, 'the presenter resumed');
    const figures = await this.registry.figures(liveId);
    return { sdpAnswer, viewerCount: figures?.viewers ?? 0 };
  }

  /** Whether `presenter:resume` of this user would find the live `liveId` on this process. */
  resumable(userId: number, liveId: string): boolean {
    const presenting = this.#parked.get(liveId)?.presenting ?? this.#presentingElsewhere(userId, liveId);
    return presenting?.presenter.userId === userId && presenting.stage === 'live';
  }

  /** The live `liveId` on air, presented by another connection of this user on this process. */
  #presentingElsewhere(userId: number, liveId: string): Presenting | undefined {
    for (const other of this.#sockets.values()) {
      const presenting = other.presenting;
      if (presenting?.liveId === liveId && presenting.presenter.userId === userId) return presenting;
    }
    return undefined;
  }

  /** End the caller's live; resolves once the recording is stored. */
  async stopPresenting(caller: SocketUser, req: { liveId: string }): Promise<{ recordingId: number | null }> {
    const state = this.#state(caller);
    const presenting = state.presenting;
    if (!presenting || presenting.liveId !== req.liveId)
      throw new OnairError('live.notPresenter', `you are not the presenter of live "${req.liveId}"`);
    await this.#abandon(presenting, caller, 'stopped');
    return { recordingId: await this.#opts.archive.recordingIdOf(req.liveId) };
  }

  // ---- viewer

  async watch(caller: SocketUser, req: { liveId: string }): Promise<{ live: LiveSummary; iceServers: IceServer[] }> {
    const state = this.#state(caller);
    const entry = await this.#entry(req.liveId);
    if (entry.kind === 'call') throw new OnairError('live.notFound', `no live with id "${req.liveId}"`);
    if (state.watching.has(req.liveId)) throw new OnairError('request.invalid', 'already watching this live');
    state.watching.set(req.liveId, 'joined');
    this.#opts.notifier.join(caller.socketId, rooms.audience(req.liveId));
    return { live: this.registry.summary(entry), iceServers: this.iceServers(caller.userId) };
  }

  /** Watch a live whose kind is 'call' (the calls layer authorises the caller). */
  async watchCall(caller: SocketUser, liveId: string): Promise<{ iceServers: IceServer[] }> {
    const state = this.#state(caller);
    await this.#entry(liveId);
    if (!state.watching.has(liveId)) state.watching.set(liveId, 'joined');
    this.#opts.notifier.join(caller.socketId, rooms.audience(liveId));
    return { iceServers: this.iceServers(caller.userId) };
  }

  async viewerOffer(caller: SocketUser, req: { liveId: string; sdpOffer: string }): Promise<{ sdpAnswer: string }> {
    const state = this.#state(caller);
    const { liveId } = req;
    if (state.watching.get(liveId) !== 'joined')
      throw new OnairError('live.notWatching', `watch live "${liveId}" before sending an offer`);
    const media = this.#media();
    state.watching.set(liveId, 'negotiating');
    try {
      const entry = await this.#entry(liveId);
      // On the live's server (attached there when another process owns the live), within its capacity.
      const live = await media.viewerLive(liveId, {
        serverId: entry.mediaServer,
        pipelineId: entry.pipelineId ?? '',
        presenterEndpointId: entry.presenterEndpointId ?? '',
      });
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
      const figures = await this.registry.viewerJoined(liveId, {
        socketId: caller.socketId,
        userId: caller.userId,
        nickname: caller.nickname,
        endpointId: live.endpoint('viewer', caller.socketId)?.id ?? '',
        mediaServer: media.serverIdOf(live) ?? entry.mediaServer ?? '',
      });
      if (figures) await this.#viewerChanged(liveId, caller, 'live:viewerJoined', figures.viewers, entry);
      return { sdpAnswer: answer };
    } catch (error) {
      if (state.watching.get(liveId) === 'negotiating') state.watching.set(liveId, 'joined');
      throw error;
    }
  }

  async leave(caller: SocketUser, req: { liveId: string }): Promise<object> {
    const state = this.#state(caller);
    if (!state.watching.has(req.liveId))
      throw new OnairError('live.notWatching', `you are not watching live "${req.liveId}"`);
    await this.#leave(state, req.liveId);
    return {};
  }

  // ---- ICE

  /** A browser candidate: applied now if its endpoint takes candidates, else queued (bounded, with a TTL). */
  async addCandidate(
    caller: SocketUser,
    req: { liveId: string; role: Role; candidate: IceCandidateInit },
  ): Promise<object> {
    const state = this.#state(caller);
    const { liveId, role } = req;
    if (role === 'presenter' && state.presenting?.liveId !== liveId)
      throw new OnairError('live.notPresenter', `you are not the presenter of live "${liveId}"`);
    const resuming = role === 'presenter' && state.presenting?.resuming === true;
    if (role === 'viewer' && !state.watching.has(liveId))
      throw new OnairError('live.notWatching', `you are not watching live "${liveId}"`);
    const media = this.#opts.media();
    const endpoint =
      role === 'viewer'
        ? media?.liveOfViewer(liveId, caller.socketId)?.endpoint('viewer', caller.socketId)
        : media?.live(liveId)?.endpoint('presenter');
    if (endpoint?.acceptsCandidates && !resuming) {
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

  /**
   * Another API process died and this one took it over (the membership claim makes it the only one): its viewers
   * are counted out (the presenter is told, their endpoints released), its lives end for everybody
   * (`presenterLost`) and their media objects are released. Idempotent, so a take-over cut short can run again.
   */
  async processGone(gone: GoneMember): Promise<void> {
    if (this.#closed) throw new Error('shutting down: the take-over is left to another process');
    for (const liveId of await this.registry.watchedBy(gone.instanceId))
      await this.#viewersGone(liveId, gone.instanceId);
    for (const liveId of await this.registry.ownedBy(gone.instanceId)) await this.#ownerGone(liveId, gone);
    await this.registry.forgetProcess(gone.instanceId);
  }

  // ---- internals

  #state(caller: SocketUser): SocketState {
    if (this.#closed) throw new OnairError('media.unavailable', 'the server is shutting down');
    const state = this.#sockets.get(caller.socketId);
    if (!state) throw new OnairError('auth.required', 'this connection is not signed in');
    return state;
  }

  #media(): MediaPool {
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
  #abandon(presenting: Presenting, caller: SocketUser, reason: LiveEndReason): Promise<void> {
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
  async #finish(live: Live, presenting: Presenting, caller: SocketUser, startedAt: Date, end: LiveEnd): Promise<void> {
    const { liveId } = presenting;
    this.#unpark(liveId);
    const work = (async () => {
      await presenting.archiving?.catch(() => undefined);
      const state = this.#sockets.get(presenting.presenter.socketId);
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
      this.#endedHere(liveId, { reason, recordingId });
      if (presenting.kind === 'broadcast') this.#opts.notifier.toRoom(rooms.everyone, 'lives:removed', { liveId });
      await this.#opts.store.publish(LIVES_CHANNEL, JSON.stringify({ type: 'ended', liveId, reason, recordingId }));
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
    // Kept, not cleared: a set-up cut short may still have its recorder write after a first discard (the live ended
    // while startLive was under way), and presenterOffer discards again once startLive has settled.
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
   * the viewer is counted out and told (`live:viewerMediaLost`), and so is the presenter; the viewer may send a new
   * offer.
   */
  async #viewerLost(live: Live, socketId: string): Promise<void> {
    // A relay's media server lost: the live goes on elsewhere, its viewers here are told and may rejoin.
    const relayLost = live.relay && live.endReason === 'mediaServerLost';
    if (live.closed && !relayLost) return;
    const state = this.#sockets.get(socketId);
    if (!state || state.watching.get(live.id) !== 'watching') return;
    state.watching.set(live.id, 'joined');
    this.#queue.drop(queueKey(socketId, live.id, 'viewer'));
    if (relayLost) this.#opts.log.warn({ liveId: live.id, socketId }, "the media server of a viewer's relay was lost");
    else this.#opts.log.warn({ liveId: live.id, socketId }, "a viewer's endpoint was released on the media server");
    this.#opts.notifier.toSocket(socketId, 'live:viewerMediaLost', { liveId: live.id });
    const figures = await this.registry.viewerLeft(live.id, socketId);
    const entry = await this.registry.get(live.id);
    if (figures && entry) await this.#viewerChanged(live.id, state.caller, 'live:viewerLeft', figures.viewers, entry);
  }

  /** The viewers a dead process held on a live: endpoints released, counted out, the presenter told. */
  async #viewersGone(liveId: string, instanceId: string): Promise<void> {
    const media = this.#opts.media();
    const liveServer = (await this.registry.peek(liveId))?.mediaServer;
    for (const viewer of await this.registry.viewersOf(liveId, instanceId)) {
      // On the viewer's server (a lost one: its endpoints are gone with it).
      if (viewer.endpointId && media?.available)
        await media.releaseObject(viewer.mediaServer || liveServer, viewer.endpointId).catch((error: unknown) => {
          this.#opts.log.warn({ liveId, err: error }, "could not release a dead process's viewer endpoint");
          return false;
        });
      const figures = await this.registry.viewerLeft(liveId, viewer.socketId, instanceId);
      const entry = await this.registry.get(liveId);
      const caller: SocketUser = { userId: viewer.userId, nickname: viewer.nickname, socketId: viewer.socketId };
      if (figures && entry) await this.#viewerChanged(liveId, caller, 'live:viewerLeft', figures.viewers, entry);
    }
    await this.registry.forgetViewers(liveId, instanceId);
  }

  /**
   * A live of a dead process: its pipeline (recorder stopped first) is released, it ends for everybody with the
   * last time its owner was known alive as its end, its recording is stored and finalised, the lock freed.
   */
  async #ownerGone(liveId: string, gone: GoneMember): Promise<void> {
    const entry = await this.registry.peek(liveId);
    if (!entry) return;
    const media = this.#opts.media();
    let recordingStopped = false;
    if (entry.pipelineId) {
      // Without the media server now, the orphan-pipeline reconciliation releases it later (it carries our tags).
      const server = entry.mediaServer ? media?.server(entry.mediaServer) : media?.servers[0];
      if (!media || !server?.available)
        this.#opts.log.warn({ liveId }, 'the pipeline of a dead API process is left for later');
      else ({ recordingStopped } = await media.releasePipeline(entry.mediaServer, entry.pipelineId));
    }
    const figures = await this.registry.figures(liveId);
    await this.registry.remove(liveId);
    await this.registry.unlockUser(entry.userId, liveId);
    const reason: LiveEndReason = 'presenterLost';
    let recordingId: number | null = null;
    if (entry.status === 'live') {
      const startedAt = new Date(entry.startedAt);
      recordingId = await this.#opts.archive.liveEnded({
        id: liveId,
        startedAt,
        endedAt: new Date(Math.max(startedAt.getTime(), gone.lastSeenAt.getTime())),
        reason,
        peakViewers: figures?.peakViewers ?? 0,
        totalViewers: figures?.totalViewers ?? 0,
        recordingStopped,
      });
      this.#endedHere(liveId, { reason, recordingId });
      if (entry.kind === 'broadcast') this.#opts.notifier.toRoom(rooms.everyone, 'lives:removed', { liveId });
    } else {
      // Never on air, so no row will ever own its file (if the recorder had started).
      const file = path.join(this.#opts.recordingsDir, `${liveId}.webm`);
      await unlink(file).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') this.#opts.log.warn({ file, err: error }, 'could not delete an unused recording');
      });
    }
    await this.#opts.store.publish(
      LIVES_CHANNEL,
      JSON.stringify(
        entry.status === 'live' ? { type: 'ended', liveId, reason, recordingId } : { type: 'ended', liveId },
      ),
    );
    this.#opts.log.warn(
      { liveId, owner: gone.instanceId, recordingId, status: entry.status },
      'the API process of a live died: the live was ended',
    );
    this.safeEmit('ended', { liveId, kind: entry.kind, callId: entry.callId, reason });
  }

  async #leave(state: SocketState, liveId: string): Promise<void> {
    const stage = state.watching.get(liveId);
    state.watching.delete(liveId);
    this.#queue.drop(queueKey(state.caller.socketId, liveId, 'viewer'));
    this.#opts.notifier.leave(state.caller.socketId, rooms.audience(liveId));
    const media = this.#opts.media();
    const live = media?.liveOfViewer(liveId, state.caller.socketId) ?? media?.live(liveId);
    await live?.removeViewer(state.caller.socketId);
    if (stage !== 'watching' || !live || live.closed) return;
    const figures = await this.registry.viewerLeft(liveId, state.caller.socketId);
    const entry = await this.registry.get(liveId);
    if (figures && entry) await this.#viewerChanged(liveId, state.caller, 'live:viewerLeft', figures.viewers, entry);
  }

  async #viewerChanged(
    liveId: string,
    caller: SocketUser,
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

  /**
   * A live is over: its audience on this process is told `live:ended` and leaves its room. Each process tells its
   * own sockets (the owner here, the others on the `ended` message), so that a socket is told once and only then
   * taken out of the room: a room message sent to every process could reach this one after it had emptied it.
   */
  #endedHere(liveId: string, ended: { reason: LiveEndReason; recordingId: number | null } | null): void {
    if (ended) this.#opts.notifier.toLocalRoom(rooms.audience(liveId), 'live:ended', { liveId, ...ended });
    for (const state of this.#sockets.values()) {
      if (state.watching.delete(liveId)) {
        this.#queue.drop(queueKey(state.caller.socketId, liveId, 'viewer'));
        this.#opts.notifier.leave(state.caller.socketId, rooms.audience(liveId));
      }
    }
  }

  /** Another process ended a live: release what this process holds of it, and tell its audience here. */
  #onLivesMessage(message: string): void {
    let parsed: { type?: string; liveId?: string; endpointId?: string; reason?: unknown; recordingId?: unknown };
    try {
      parsed = JSON.parse(message) as typeof parsed;
    } catch {
      return;
    }
    if (parsed.type === 'resumed' && typeof parsed.liveId === 'string' && typeof parsed.endpointId === 'string') {
      const { liveId: id, endpointId } = parsed;
      void this.#opts
        .media()
        ?.followPresenter(id, endpointId)
        .catch((error: unknown) =>
          this.#opts.log.warn({ liveId: id, err: error }, 'the viewers here could not follow the resumed presenter'),
        );
      return;
    }
    if (parsed.type !== 'ended' || typeof parsed.liveId !== 'string') return;
    const liveId = parsed.liveId;
    const live = this.#opts.media()?.live(liveId);
    if (live && !live.owner) void live.gone('endedElsewhere');
    // The message is this application's own; without a reason the live was never on air (nobody is told).
    const recordingId = typeof parsed.recordingId === 'number' ? parsed.recordingId : null;
    this.#endedHere(
      liveId,
      typeof parsed.reason === 'string' ? { reason: parsed.reason as LiveEndReason, recordingId } : null,
    );
  }
}

function queueKey(socketId: string, liveId: string, role: Role): string {
  return `${socketId}|${liveId}|${role}`;
}

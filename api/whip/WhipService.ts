/**
 * WHIP ingest and WHEP playback (RFC 9725 and the WHEP draft) over the live layer: a WHIP session is a presenter
 * and a WHEP session a viewer of LiveService, each under a pseudo socket id (HttpPeers), so that a live started by
 * an encoder is a live like any other (registry, recording, archive, audience, chat) and a WHEP viewer is counted
 * and listed like any other. Sessions are this process's own (the resource URL must reach the process that made
 * it); a live's end, however it comes, ends its sessions.
 */
import { randomBytes } from 'node:crypto';
import { OnairError } from '../contract/errors.js';
import type { IceCandidateInit, IceServer } from '../contract/signalling.js';
import type { LiveService } from '../live/LiveService.js';
import type { SocketUser } from '../signalling/sockets.js';
import type { Logger } from '../logger.js';
import type { MediaPool } from '../../media/MediaPool.js';
import { validateOffer } from '../../media/sdp.js';
import { HttpPeers } from './HttpPeers.js';
import { iceUfragOf, midsOf, parseSdpFragment, withCandidates } from './sdpfrag.js';

export type WhipKind = 'whip' | 'whep';

interface HttpSession {
  id: string;
  kind: WhipKind;
  caller: SocketUser;
  liveId: string;
  etag: string;
  /** The offer's ICE username fragment: a PATCH with another one asks for an ICE restart. */
  ufrag: string | null;
  mids: (string | null)[];
  candidates: IceCandidateInit[];
  ending: Promise<void> | undefined;
  /** Stops the idle watch of a WHIP session (its timer and its listener). */
  unwatch?: () => void;
}

export interface WhipAnswer {
  sessionId: string;
  liveId: string;
  sdpAnswer: string;
  etag: string;
  iceServers: IceServer[];
}

export interface WhipServiceOptions {
  lives: LiveService;
  peers: HttpPeers;
  media: () => MediaPool | null;
  log: Logger;
  /** How long an answer waits for the media server's `IceGatheringDone` before it goes with what it has. */
  gatherTimeoutMs?: number;
  /** A WHIP live whose encoder sends no media this long ends, as if deleted (WHIP_IDLE_MS); 0: never. */
  idleMs?: number;
}

export class WhipService {
  readonly #opts: WhipServiceOptions;
  readonly #sessions = new Map<string, HttpSession>();
  #closed = false;

  constructor(opts: WhipServiceOptions) {
    this.#opts = opts;
    opts.lives.on('ended', ({ liveId }) => {
      for (const session of [...this.#sessions.values()])
        if (session.liveId === liveId) void this.#drop(session, 'the live ended');
    });
  }

  /** A WHIP encoder goes live as `user`; resolves with the gathered answer once the live is on air. */
  async publish(
    user: { userId: number; nickname: string },
    req: { sdpOffer: string; title: string; timeZone?: string | undefined },
  ): Promise<WhipAnswer> {
    this.#assertOpen();
    const offer = validateOffer(req.sdpOffer, 'presenter');
    const session = this.#open('whip', user);
    const { lives } = this.#opts;
    try {
      const started = await lives.startPresenting(session.caller, {
        title: req.title,
        ...(req.timeZone ? { timeZone: req.timeZone } : {}),
      });
      session.liveId = started.liveId;
      const { sdpAnswer } = await lives.presenterOffer(session.caller, {
        liveId: started.liveId,
        sdpOffer: offer,
        loopback: false,
      });
      // Watched from before the answer leaves: no media can flow before the encoder has it.
      this.#watchIdle(session);
      return await this.#answer(session, offer, sdpAnswer, started.iceServers);
    } catch (error) {
      await this.#drop(session, 'set-up failed');
      throw error;
    }
  }

  /** A WHEP player watches `liveId` as `user`; resolves with the gathered answer. */
  async play(user: { userId: number; nickname: string }, liveId: string, sdpOffer: string): Promise<WhipAnswer> {
    this.#assertOpen();
    const offer = validateOffer(sdpOffer, 'viewer');
    const session = this.#open('whep', user);
    session.liveId = liveId;
    const { lives } = this.#opts;
    try {
      const { iceServers } = await lives.watch(session.caller, { liveId });
      const { sdpAnswer } = await lives.viewerOffer(session.caller, { liveId, sdpOffer: offer });
      return await this.#answer(session, offer, sdpAnswer, iceServers);
    } catch (error) {
      await this.#drop(session, 'set-up failed');
      throw error;
    }
  }

  /**
   * A trickle-ice-sdpfrag PATCH: its candidates go to the media server. An ICE restart (another ufrag) is 422
   * `ice.restartUnsupported`; `ifMatch` other than `*` or the session's ETag is 412.
   */
  async patch(kind: WhipKind, sessionId: string, body: string, ifMatch: string | undefined): Promise<void> {
    const session = this.#get(kind, sessionId);
    if (ifMatch !== undefined && ifMatch.trim() !== '*' && ifMatch.trim() !== session.etag)
      throw new OnairError('request.preconditionFailed', 'If-Match does not name this session (see its ETag)');
    const fragment = parseSdpFragment(body, session.mids);
    if (!fragment) throw new OnairError('request.invalid', 'the body is not a trickle-ice-sdpfrag');
    if (fragment.ufrag !== null && session.ufrag !== null && fragment.ufrag !== session.ufrag)
      throw new OnairError('ice.restartUnsupported', 'ICE restarts are not supported: start a new session');
    const role = kind === 'whip' ? 'presenter' : 'viewer';
    for (const candidate of fragment.candidates)
      await this.#opts.lives.addCandidate(session.caller, { liveId: session.liveId, role, candidate });
  }

  /** DELETE on a session: a WHIP session's live ends (its recording is stored first), a WHEP viewer leaves. */
  async end(kind: WhipKind, sessionId: string): Promise<void> {
    const session = this.#get(kind, sessionId);
    if (kind === 'whip') {
      await this.#opts.lives
        .stopPresenting(session.caller, { liveId: session.liveId })
        .catch((error: unknown) => this.#opts.log.warn({ err: error, sessionId }, 'stopping a WHIP live failed'));
    }
    await this.#drop(session, 'deleted');
  }

  /** Whether a session exists here. */
  has(kind: WhipKind, sessionId: string): boolean {
    return this.#sessions.get(sessionId)?.kind === kind;
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** End every session (WHIP lives end, their recordings stored). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#sessions.values()].map((s) => this.#drop(s, 'shutdown')));
  }

  #open(kind: WhipKind, user: { userId: number; nickname: string }): HttpSession {
    const id = randomBytes(16).toString('base64url');
    const session: HttpSession = {
      id,
      kind,
      caller: { userId: user.userId, nickname: user.nickname, socketId: `${kind}:${id}` },
      liveId: '',
      etag: `"${randomBytes(8).toString('hex')}"`,
      ufrag: null,
      mids: [],
      candidates: [],
      ending: undefined,
    };
    this.#sessions.set(id, session);
    this.#opts.peers.add(session.caller.socketId, (event, ...args) => {
      if (event !== 'ice:candidate') return;
      const [message] = args as [{ candidate: IceCandidateInit }];
      session.candidates.push(message.candidate);
    });
    this.#opts.lives.socketJoined(session.caller);
    return session;
  }

  /** The answer with the media server's candidates in it, once gathering is done (or its bound passed). */
  async #answer(session: HttpSession, offer: string, sdpAnswer: string, iceServers: IceServer[]): Promise<WhipAnswer> {
    session.ufrag = iceUfragOf(offer);
    session.mids = midsOf(offer);
    const live = this.#opts.media()?.live(session.liveId);
    const endpoint =
      session.kind === 'whip' ? live?.endpoint('presenter') : live?.endpoint('viewer', session.caller.socketId);
    let complete = endpoint?.gatheringDone ?? false;
    if (endpoint && !complete) {
      complete = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          endpoint.off('gatheringDone', done);
          resolve(false);
        }, this.#opts.gatherTimeoutMs ?? 3000);
        const done = () => {
          clearTimeout(timer);
          resolve(true);
        };
        endpoint.once('gatheringDone', done);
      });
    }
    if (!complete) this.#opts.log.warn({ sessionId: session.id }, 'ICE gathering did not finish: partial answer');
    if (!this.#sessions.has(session.id)) throw new OnairError('live.ended', 'the live ended during set-up');
    return {
      sessionId: session.id,
      liveId: session.liveId,
      sdpAnswer: withCandidates(sdpAnswer, session.candidates, complete),
      etag: session.etag,
      iceServers,
    };
  }

  #get(kind: WhipKind, sessionId: string): HttpSession {
    const session = this.#sessions.get(sessionId);
    if (!session || session.kind !== kind || session.ending)
      throw new OnairError('request.notFound', `no ${kind.toUpperCase()} session "${sessionId.slice(0, 32)}"`);
    return session;
  }

  /**
   * An encoder that vanished without DELETE (a crash, a lost network) stops sending: once no media has flowed into
   * its endpoint for `idleMs` (never started, or stopped), its live ends as a DELETE would end it.
   */
  #watchIdle(session: HttpSession): void {
    const idleMs = this.#opts.idleMs ?? 20_000;
    const endpoint = this.#opts.media()?.live(session.liveId)?.endpoint('presenter');
    if (idleMs <= 0 || !endpoint) return;
    const flowing = new Set<string>();
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = flowing.size > 0 ? undefined : setTimeout(() => void this.#idleOut(session, idleMs), idleMs);
    };
    const onFlow = (type: string, on: boolean) => {
      if (on) flowing.add(type);
      else flowing.delete(type);
      arm();
    };
    endpoint.on('flowIn', onFlow);
    session.unwatch = () => {
      clearTimeout(timer);
      endpoint.off('flowIn', onFlow);
    };
    arm();
  }

  async #idleOut(session: HttpSession, idleMs: number): Promise<void> {
    if (session.ending) return;
    const { sessionId, liveId } = { sessionId: session.id, liveId: session.liveId };
    this.#opts.log.warn({ sessionId, liveId, idleMs }, 'the WHIP encoder sent no media: its live ends');
    await this.#opts.lives
      .stopPresenting(session.caller, { liveId })
      .catch((error: unknown) => this.#opts.log.warn({ err: error, sessionId }, 'stopping an idle WHIP live failed'));
    await this.#drop(session, 'idle');
  }

  /** Forget a session and its pseudo socket (LiveService releases what it still holds for it). Idempotent. */
  #drop(session: HttpSession, why: string): Promise<void> {
    session.ending ??= (async () => {
      session.unwatch?.();
      this.#sessions.delete(session.id);
      await this.#opts.lives.socketGone(session.caller.socketId);
      this.#opts.peers.remove(session.caller.socketId);
      this.#opts.log.info({ sessionId: session.id, kind: session.kind, liveId: session.liveId, why }, 'session over');
    })();
    return session.ending;
  }

  #assertOpen(): void {
    if (this.#closed) throw new OnairError('media.unavailable', 'the server is shutting down');
  }
}

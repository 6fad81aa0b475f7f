/**
 * The socket.io contract between the browser and the API (path `/socket.io/webrtc`), shared by api/ and front/.
 * Every client event is acknowledged with one shape, `Ack<T>`: `{ ok: true, ...T }` or `{ ok: false, error }`.
 * The account token travels in the handshake (`auth: { token }`) and is checked again on every event.
 */
import type { Ack, ErrorBody } from './errors.js';
import type { ChatMessage, ChatState, PresenterMedia, ReactionBurst, ReactionKind } from './chat.js';
import type { CallOutcome } from './rest.js';
import type { IceCandidateInit, LiveEndReason as MediaLiveEndReason } from '../../media/shared.js';

export const SIGNALLING_PATH = '/socket.io/webrtc';

/** An ICE server handed to browsers (TURN with time-limited credentials when configured). */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export type { IceCandidateInit };

export interface UserSummary {
  id: number;
  nickname: string;
  avatarUrl: string;
}

/** A live on air, as listed in "Live now" and returned by `GET /api/lives/:id`. */
export interface LiveSummary {
  id: string;
  title: string;
  presenter: UserSummary;
  /** ISO 8601. */
  startedAt: string;
  viewerCount: number;
}

export type Role = 'presenter' | 'viewer';

/**
 * Why a live ended (`live:ended`): `stopped` by its presenter; `presenterLeft`, the presenter's connection dropped
 * (and did not resume in time); `presenterLost`, the API process carrying the presenter died (ended by a surviving
 * process); `mediaServerLost`; `failed` (set-up, or its media gone on the media server); `shutdown`, the server is
 * stopping.
 */
export type LiveEndReason = Exclude<MediaLiveEndReason, 'endedElsewhere'>;

export interface ViewerEvent {
  liveId: string;
  viewer: UserSummary;
  /** ISO 8601 time of the join or leave. */
  at: string;
  viewerCount: number;
}

/** Where a call stands: ringing at the callee, accepted (both sides talk), or over (see `outcome`). */
export type CallState = 'ringing' | 'accepted' | 'ended';

/** Why a call ended (more detailed than its outcome: a completed call ended by a hang-up or a lost connection). */
export type CallEndReason =
  'hangUp' | 'rejected' | 'cancelled' | 'missed' | 'busy' | 'disconnected' | 'failed' | 'shutdown';

/** A call between two users: sent with every transition (`call:state`) and listed in the call log (`GET /api/calls`). */
export interface CallView {
  id: string;
  caller: UserSummary;
  callee: UserSummary;
  state: CallState;
  outcome: CallOutcome;
  /** When the invitation was sent (ISO 8601). */
  createdAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  /** Talk time, from the answer to the end; null when never answered or not over yet. */
  durationMs: number | null;
  endReason: CallEndReason | null;
}

type AckFn<T extends object = object> = (res: Ack<T>) => void;

export interface ClientToServerEvents {
  /** Reserve a live (one at a time per user); the offer follows with `presenter:offer`. */
  'presenter:start': (
    req: { title: string; timeZone?: string },
    ack: AckFn<{ liveId: string; iceServers: IceServer[] }>,
  ) => void;
  /** The presenter's SDP offer (sends audio/video, receives its own stream back): answered by the media server. */
  'presenter:offer': (req: { liveId: string; sdpOffer: string }, ack: AckFn<{ sdpAnswer: string }>) => void;
  /**
   * Resume one's own live (or one's side of a call) after a dropped connection, from a new connection of the same
   * account, within RESUME_GRACE_MS of the drop (or to take it over from a connection of one's own that the server
   * still thinks open). The new offer is answered by a new endpoint in the same pipeline, which feeds the same
   * recorder and viewers: one live, one recording. ICE goes through `ice:candidate` (role 'presenter') as before.
   * `live.notPresenter` when there is nothing of yours to resume on this API process, `live.ended` when it is over.
   */
  'presenter:resume': (
    req: { liveId: string; sdpOffer: string },
    ack: AckFn<{ sdpAnswer: string; viewerCount: number }>,
  ) => void;
  /** End the live; the recording is finalised and stored. */
  'presenter:stop': (req: { liveId: string }, ack: AckFn<{ recordingId: number | null }>) => void;
  /** Join a live as a viewer; the offer follows with `viewer:offer`. */
  'viewer:watch': (req: { liveId: string }, ack: AckFn<{ live: LiveSummary; iceServers: IceServer[] }>) => void;
  /** The viewer's receive-only SDP offer. */
  'viewer:offer': (req: { liveId: string; sdpOffer: string }, ack: AckFn<{ sdpAnswer: string }>) => void;
  'viewer:leave': (req: { liveId: string }, ack: AckFn) => void;
  /** A browser ICE candidate; kept until its endpoint exists (bounded, with a time-to-live). */
  'ice:candidate': (req: { liveId: string; role: Role; candidate: IceCandidateInit }, ack: AckFn) => void;

  // Calls. The caller's inviting connection and the callee's accepting one carry the call: media events must come
  // from them. After `call:accept`, each side goes live for the call (`call:present`, then `call:offer`), and
  // watches the other side's live once told it is on air (`call:peerLive`, then `call:watch` and `viewer:offer`);
  // ICE goes through `ice:candidate` as for any live.
  /** Ring an online user by nickname (rate limited per user). */
  'call:invite': (req: { nickname: string }, ack: AckFn<{ call: CallView }>) => void;
  /** The callee answers (from any of their connections: that one carries the call). */
  'call:accept': (req: { callId: string }, ack: AckFn<{ call: CallView }>) => void;
  /** The callee declines a ringing call. */
  'call:reject': (req: { callId: string }, ack: AckFn<{ call: CallView }>) => void;
  /** The caller gives up a ringing call. */
  'call:cancel': (req: { callId: string }, ack: AckFn<{ call: CallView }>) => void;
  /** Either side ends the call (while ringing: a cancel from the caller, a reject from the callee). */
  'call:hangUp': (req: { callId: string }, ack: AckFn<{ call: CallView }>) => void;
  /** Reserve this side's live for an accepted call; the offer follows with `call:offer`. */
  'call:present': (
    req: { callId: string; timeZone?: string },
    ack: AckFn<{ liveId: string; iceServers: IceServer[] }>,
  ) => void;
  /** This side's SDP offer (as `presenter:offer`); once answered, the other side is told (`call:peerLive`). */
  'call:offer': (req: { callId: string; liveId: string; sdpOffer: string }, ack: AckFn<{ sdpAnswer: string }>) => void;
  /** Watch the other side's live (once on air); the offer follows with `viewer:offer`. */
  'call:watch': (req: { callId: string }, ack: AckFn<{ liveId: string; iceServers: IceServer[] }>) => void;
  /**
   * After a dropped connection, within RESUME_GRACE_MS: this connection carries the caller's side of an accepted
   * call from now on (the call never left `accepted`). `liveId` is this side's live when it waits to be resumed
   * (then `presenter:resume`), null when this side must go live again (`call:present`); then `call:watch` and
   * `viewer:offer` for the other side's live, as at the start.
   */
  'call:resume': (
    req: { callId: string },
    ack: AckFn<{ call: CallView; liveId: string | null; iceServers: IceServer[] }>,
  ) => void;

  // Chat and reactions of a live (not of calls), for its presenter and the sockets watching it (after viewer:watch).
  /** The chat as it stands: the last messages, slow mode, whether the caller is muted. */
  'chat:join': (req: { liveId: string }, ack: AckFn<ChatState>) => void;
  /** Say something (plain text, at most CHAT_MAX_CHARS; rate limited per account; slow mode and mutes apply). */
  'chat:send': (req: { liveId: string; text: string }, ack: AckFn<{ message: ChatMessage }>) => void;
  /** The presenter deletes a message, for everybody and from the history. */
  'chat:delete': (req: { liveId: string; messageId: number }, ack: AckFn) => void;
  /** The presenter mutes (or unmutes) an account in this live's chat. */
  'chat:mute': (req: { liveId: string; userId: number; muted: boolean }, ack: AckFn) => void;
  /** The presenter sets slow mode: seconds between two messages of one viewer (0: off). */
  'chat:slowMode': (req: { liveId: string; seconds: number }, ack: AckFn) => void;
  /** Tap a reaction; everybody gets them aggregated, once a second (`reaction:burst`). */
  'reaction:send': (req: { liveId: string; reaction: ReactionKind }, ack: AckFn) => void;
  /** The presenter (of a live or of one side of a call) says what it sends: camera, microphone, screen. */
  'presenter:media': (req: { liveId: string } & PresenterMedia, ack: AckFn) => void;
  /** What the presenter of a live (or the other side of a call) sends now, for a socket watching it. */
  'live:mediaState': (req: { liveId: string }, ack: AckFn<{ media: PresenterMedia }>) => void;
}

export interface ServerToClientEvents {
  /** A media-server ICE candidate for the browser's peer of that live and role. */
  'ice:candidate': (msg: { liveId: string; role: Role; candidate: IceCandidateInit }) => void;
  /** To the presenter: a viewer came or went. */
  'live:viewerJoined': (msg: ViewerEvent) => void;
  'live:viewerLeft': (msg: ViewerEvent) => void;
  /**
   * To the presenter: the media server's recorder failed (it cannot write...). The live goes on; its recording
   * will be `incomplete` (or `failed` when nothing could be written).
   */
  'live:recordingFailed': (msg: { liveId: string }) => void;
  /**
   * To every viewer (and the other side of a call): the presenter's connection dropped; the live stays on air for
   * `graceMs`, waiting for `presenter:resume` (then `live:presenterResumed`), or ends (`live:ended`, 'presenterLeft').
   */
  'live:presenterReconnecting': (msg: { liveId: string; graceMs: number }) => void;
  /** To the presenter and every viewer: the presenter is back; its media flows again on the same viewer connections. */
  'live:presenterResumed': (msg: { liveId: string }) => void;
  /**
   * To a viewer: its media session was lost while the live goes on (the engine worker that served it died, or the
   * media server of its relay of a cascaded live is lost). It is counted out; it may send `viewer:offer` again (a
   * new peer connection), placed where there is room.
   */
  'live:viewerMediaLost': (msg: { liveId: string }) => void;
  /** To the presenter and every viewer: the live is over. */
  'live:ended': (msg: { liveId: string; reason: LiveEndReason; recordingId: number | null }) => void;
  /** To every signed-in socket: a live went on air or its figures changed ("Live now" updates in real time). */
  'lives:updated': (live: LiveSummary) => void;
  'lives:removed': (msg: { liveId: string }) => void;
  /**
   * To every signed-in socket: a recording that everyone may see entered the library (its live ended and it was
   * finalised: true length, poster). Open recordings lists fetch again.
   */
  'recordings:added': (msg: { recordingId: number }) => void;
  /** To every signed-in socket: a recording was deleted (by its presenter). Open lists and players drop it. */
  'recordings:removed': (msg: { recordingId: number }) => void;
  /** To both parties (every connection of each): a call changed state. */
  'call:state': (call: CallView) => void;
  /** To one side: the other side's live for this call is on air (watch it with `call:watch`). */
  'call:peerLive': (msg: { callId: string; liveId: string }) => void;
  /** To every signed-in socket: a user came online (first connection) or went offline (last one gone). */
  'presence:online': (msg: { user: UserSummary }) => void;
  'presence:offline': (msg: { userId: number }) => void;
  /**
   * The socket's session is over (`auth.invalidToken` after a logout, `auth.expiredToken` past TOKEN_TTL); sent
   * to every socket of that session, on every API process, right before the server disconnects it. Sign in again.
   */
  'session:ended': (error: ErrorBody) => void;
  /** To the presenter and every viewer of a live: a chat message, a deletion, a change of settings or mutes. */
  'chat:message': (msg: ChatMessage) => void;
  'chat:deleted': (msg: { liveId: string; messageId: number }) => void;
  'chat:settings': (msg: { liveId: string; slowModeSeconds: number }) => void;
  'chat:muted': (msg: { liveId: string; userId: number; muted: boolean }) => void;
  /** To the presenter and every viewer: the reactions of the last second, counted (at most one a second). */
  'reaction:burst': (msg: ReactionBurst) => void;
  /** To the presenter and every viewer (the other side, in a call): the presenter's camera, microphone, screen. */
  'live:media': (msg: { liveId: string } & PresenterMedia) => void;
}

/** What the server keeps on each socket (set by the handshake). */
export interface SocketData {
  userId: number;
  nickname: string;
  tokenHash: string;
  /** When the session expires (ms since the epoch): the socket is disconnected then. */
  expiresAt: number;
}

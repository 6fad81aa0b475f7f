/**
 * The socket.io contract between the browser and the API (path `/socket.io/webrtc`), shared by api/ and front/.
 * Every client event is acknowledged with one shape, `Ack<T>`: `{ ok: true, ...T }` or `{ ok: false, error }`.
 * The account token travels in the handshake (`auth: { token }`) and is checked again on every event.
 */
import type { Ack } from './errors.js';

export const SIGNALLING_PATH = '/socket.io/webrtc';

/** An ICE server handed to browsers (TURN with time-limited credentials when configured). */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface IceCandidateInit {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}

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

export type LiveEndReason = 'stopped' | 'presenterLeft' | 'mediaServerLost' | 'failed' | 'shutdown';

export interface ViewerEvent {
  liveId: string;
  viewer: UserSummary;
  /** ISO 8601 time of the join or leave. */
  at: string;
  viewerCount: number;
}

type AckFn<T extends object = object> = (res: Ack<T>) => void;

export interface ClientToServerEvents {
  /** Reserve a live (one at a time per user); the offer follows with `presenter:offer`. */
  'presenter:start': (req: { title: string; timeZone?: string }, ack: AckFn<{ liveId: string; iceServers: IceServer[] }>) => void;
  /** The presenter's SDP offer (sends audio/video, receives its own stream back): answered by the media server. */
  'presenter:offer': (req: { liveId: string; sdpOffer: string }, ack: AckFn<{ sdpAnswer: string }>) => void;
  /** End the live; the recording is finalised and stored. */
  'presenter:stop': (req: { liveId: string }, ack: AckFn<{ recordingId: number | null }>) => void;
  /** Join a live as a viewer; the offer follows with `viewer:offer`. */
  'viewer:watch': (req: { liveId: string }, ack: AckFn<{ live: LiveSummary; iceServers: IceServer[] }>) => void;
  /** The viewer's receive-only SDP offer. */
  'viewer:offer': (req: { liveId: string; sdpOffer: string }, ack: AckFn<{ sdpAnswer: string }>) => void;
  'viewer:leave': (req: { liveId: string }, ack: AckFn) => void;
  /** A browser ICE candidate; kept until its endpoint exists (bounded, with a time-to-live). */
  'ice:candidate': (req: { liveId: string; role: Role; candidate: IceCandidateInit }, ack: AckFn) => void;
}

export interface ServerToClientEvents {
  /** A media-server ICE candidate for the browser's peer of that live and role. */
  'ice:candidate': (msg: { liveId: string; role: Role; candidate: IceCandidateInit }) => void;
  /** To the presenter: a viewer came or went. */
  'live:viewerJoined': (msg: ViewerEvent) => void;
  'live:viewerLeft': (msg: ViewerEvent) => void;
  /** To the presenter and every viewer: the live is over. */
  'live:ended': (msg: { liveId: string; reason: LiveEndReason; recordingId: number | null }) => void;
  /** To every signed-in socket: a live went on air or its figures changed ("Live now" updates in real time). */
  'lives:updated': (live: LiveSummary) => void;
  'lives:removed': (msg: { liveId: string }) => void;
}

/** What the server keeps on each socket (set by the handshake). */
export interface SocketData {
  userId: number;
  nickname: string;
  tokenHash: string;
}

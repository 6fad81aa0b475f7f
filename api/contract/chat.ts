/**
 * Live interaction, shared by api/ and front/: the chat of a live, its reactions, and their replay with a
 * recording (`GET /api/recordings/:id/chat`). The socket.io events are in signalling.ts.
 */
import type { UserSummary } from './signalling.js';

/** Longest chat message, in characters (code points: an emoji counts as one). */
export const CHAT_MAX_CHARS = 500;
/** How many of a live's latest messages a viewer who joins gets. */
export const CHAT_HISTORY_SIZE = 50;
/** Longest slow mode the presenter can set (seconds between two messages of one viewer). */
export const CHAT_MAX_SLOW_MODE_S = 300;

/** The reactions a viewer can tap, with what is shown. */
export const REACTIONS = {
  heart: '♥',
  laugh: '😂',
  wow: '😮',
  clap: '👏',
  fire: '🔥',
} as const;
export type ReactionKind = keyof typeof REACTIONS;
export const REACTION_KINDS = Object.keys(REACTIONS) as ReactionKind[];

export interface ChatMessage {
  id: number;
  liveId: string;
  user: UserSummary;
  /** Plain text: never HTML. Links are made by the front end, http(s) only. */
  text: string;
  /** Milliseconds from the start of the live (the position in its recording). */
  offsetMs: number;
  /** ISO 8601. */
  at: string;
}

/** Reactions counted together: `counts` per kind, in the second starting at `offsetMs` into the live. */
export interface ReactionBurst {
  liveId: string;
  offsetMs: number;
  counts: Partial<Record<ReactionKind, number>>;
}

/** The chat of a live as a viewer who joins gets it. */
export interface ChatState {
  messages: ChatMessage[];
  slowModeSeconds: number;
  /** The caller is muted in this chat. */
  muted: boolean;
  /** Accounts muted in this chat (the presenter's view; empty for everyone else). */
  mutedUserIds: number[];
  /** The caller presents this live (and so moderates its chat). */
  moderator: boolean;
}

/**
 * `GET /api/recordings/:id/chat`: what the live of a recording said and reacted. Offsets are positions in the
 * recording: the live's offsets less `recordingStartMs`.
 */
export interface RecordingInteractions {
  recordingId: number;
  /** How long after the live's start the recording starts (media flows once the connection is up). */
  recordingStartMs: number;
  messages: ChatMessage[];
  /** One entry per second that had reactions, in order. */
  reactions: Array<{ offsetMs: number; counts: Partial<Record<ReactionKind, number>> }>;
}

/** What the presenter sends (shown to viewers: a "camera off" card, a muted badge, a screen being shared). */
export interface PresenterMedia {
  camera: boolean;
  microphone: boolean;
  /** The outgoing video is a screen (camera or not). */
  screen: boolean;
}

export const DEFAULT_PRESENTER_MEDIA: PresenterMedia = { camera: true, microphone: true, screen: false };

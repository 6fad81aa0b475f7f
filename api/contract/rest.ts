/**
 * REST payloads, shared by api/ and front/. Dates travel as ISO 8601 strings (UTC).
 * Every error answer is `ErrorResponse` with a code from api/contract/errors.ts.
 */
import type { ErrorBody } from './errors.js';
import type { CallView, UserSummary } from './signalling.js';

/** Account rules, enforced by the server (api/auth/rules.ts) and mirrored by the forms. */
export const NICKNAME_MIN = 3;
export const NICKNAME_MAX = 32;
export const NICKNAME_PATTERN = /^[A-Za-z0-9_.-]+$/;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;

/** A user as anyone signed in may see them. */
export interface PublicUser {
  id: number;
  nickname: string;
  /** `/api/users/:id/avatar.svg`: public, so an <img> can load it. */
  avatarUrl: string;
  createdAt: string;
}
export type User = PublicUser;

/** Where a user's avatar is served (`GET /api/users/:id/avatar.svg`). */
export function avatarUrl(userId: number): string {
  return `/api/users/${userId}/avatar.svg`;
}

/** Answer of register and login; the token goes in `Authorization: Bearer <token>`. */
export interface AuthResponse {
  token: string;
  /** When the token stops working (ISO 8601); afterwards requests answer 401 `auth.expiredToken`. */
  expiresAt: string;
  user: PublicUser;
}

/** Every non-2xx answer of the API. */
export interface ErrorResponse {
  error: ErrorBody;
}

export interface HealthCheck {
  ok: boolean;
  /** How long the check took. */
  ms: number;
  /** Why it failed (or `not configured` for a check without a probe, which counts as ok; or why it is degraded). */
  detail?: string;
  /** Ok but not whole: one of several media servers is lost (the others serve). */
  degraded?: boolean;
}

/**
 * `GET /healthz`: 200 when every check is ok (status `degraded` when one passes degraded: still serving), else 503
 * (status `degraded`).
 */
export interface HealthReport {
  status: 'ok' | 'degraded';
  checks: { database: HealthCheck; store: HealthCheck; media: HealthCheck };
}

export const LIVE_KINDS = ['broadcast', 'call'] as const;
export type LiveKind = (typeof LIVE_KINDS)[number];

export const LIVE_STATUSES = ['live', 'ended', 'failed'] as const;
export type LiveStatus = (typeof LIVE_STATUSES)[number];

export const RECORDING_STATUSES = ['recording', 'ready', 'incomplete', 'failed'] as const;
export type RecordingStatus = (typeof RECORDING_STATUSES)[number];

/**
 * A recent frame of a live on air, for its "Live now" card: the presenter's page takes one from what it sends when
 * the live starts and every `LIVE_POSTER_INTERVAL_MS` (`PUT /api/lives/:id/poster`, body `LivePosterUpload`), and
 * cards fetch it as often (`GET /api/lives/:id/poster` → `{ poster: LivePoster }`, 404 `live.notFound` when the live
 * is not on air or has no frame yet). A frame older than `LIVE_POSTER_TTL_MS` is gone.
 */
export interface LivePoster {
  /** `data:image/jpeg;base64,…` (for an `<img>`). */
  imageUrl: string;
  /** When the frame was taken (ISO 8601, server time of the upload). */
  takenAt: string;
}
export interface LivePosterUpload {
  /** A JPEG, base64, at most `LIVE_POSTER_MAX_BYTES` once decoded. */
  jpeg: string;
}
export const LIVE_POSTER_INTERVAL_MS = 10_000;
export const LIVE_POSTER_TTL_MS = 45_000;
export const LIVE_POSTER_MAX_BYTES = 20 * 1024;

/** How a call ended; `ringing` and `answered` while it is still going on. */
export const CALL_OUTCOMES = [
  'ringing',
  'answered',
  'completed',
  'rejected',
  'missed',
  'cancelled',
  'busy',
  'failed',
] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

/** Answer of `GET /api/calls` (the caller's own calls, made or received, newest first; `?limit=1..100`, default 50). */
export interface CallList {
  calls: CallView[];
}
export const CALL_LIST_LIMIT_MAX = 100;
export const CALL_LIST_LIMIT_DEFAULT = 50;

/** Answer of `GET /api/users/online`: the other users connected now, by nickname. */
/** A user who is online, and whether a call to them would be refused as busy (they are live or in a call). */
export interface OnlineUser extends UserSummary {
  busy: boolean;
}

export interface OnlineUsers {
  users: OnlineUser[];
}

/**
 * Columns `GET /api/recordings` sorts by (`sort`), with `order` asc or desc. Default: newest first, or the best
 * match first when `q` is given (`relevance`, which needs `q`; ties newest first).
 */
export const RECORDING_SORTS = ['startedAt', 'durationMs', 'title', 'location', 'relevance'] as const;
export type RecordingSort = (typeof RECORDING_SORTS)[number];
export const RECORDING_PAGE_SIZE_MAX = 100;
export const RECORDING_PAGE_SIZE_DEFAULT = 20;

/**
 * Query of `GET /api/recordings` (every value a string in the URL; an empty value counts as absent):
 * `page` (from 1), `size` (1..100), `from`/`to` (ISO 8601 date or date-time; start time in [from, to)),
 * `minDurationMs`/`maxDurationMs` (milliseconds, inclusive), `location` and `q` (text contained in the location or
 * the title, case-insensitive), `presenter` (a nickname or a user id), `mine` (`true`: only the caller's),
 * `sort` (one of RECORDING_SORTS) and `order` (`asc` | `desc`). Any other parameter is a 400 `request.invalid`.
 * `q` is a search (ranked, see `relevance`) of the title and the presenter's nickname, in any language: on
 * MySQL/MariaDB every word of `q` must begin a word of either (Chinese, Japanese and Korean text matched by its
 * character pairs, like MySQL's ngram parser); on SQLite every word of `q` must appear in either.
 * `cursor`: the `nextCursor` of the previous page (keyset paging: the same cost on any page); the other
 * parameters must stay the same, and `page` must not be given with it.
 */
export interface RecordingListQuery {
  page?: number;
  size?: number;
  from?: string;
  to?: string;
  minDurationMs?: number;
  maxDurationMs?: number;
  location?: string;
  q?: string;
  presenter?: string;
  mine?: boolean;
  sort?: RecordingSort;
  order?: 'asc' | 'desc';
  cursor?: string;
}

/** A recording in the library (`GET /api/recordings`, `GET /api/recordings/:id`). */
export interface RecordingView {
  id: number;
  liveId: string | null;
  title: string;
  presenter: Pick<PublicUser, 'id' | 'nickname' | 'avatarUrl'>;
  startedAt: string;
  endedAt: string | null;
  /** The playable length (measured from the file once finalised). */
  durationMs: number | null;
  sizeBytes: number | null;
  /** "City, Country" in English, from the presenter's time zone (null: unknown). */
  location: string | null;
  /** ISO 3166-1 alpha-2 code of the location's country (for Intl.DisplayNames), or null. */
  locationCountry: string | null;
  /** `ready`, or `incomplete` when the recording was cut short (still playable up to where it stops). */
  status: RecordingStatus;
  mimeType: string;
  /** Signed URL of the file (range requests), usable by a `<video>` without an Authorization header. */
  mediaUrl: string;
  /** Signed URL of the poster JPEG, or null when there is none (yet). */
  posterUrl: string | null;
  /** When `mediaUrl` and `posterUrl` stop working; fetch the recording again for fresh ones. */
  urlsExpireAt: string;
  /** True when the caller owns it (and so may delete it). */
  mine: boolean;
  /** The owner's trim (ms from the start of the file): the player plays only [trimStartMs, trimEndMs]. */
  trimStartMs: number | null;
  trimEndMs: number | null;
  /** The owner's only (else null): signed URL of the original file, as an attachment. */
  downloadUrl: string | null;
  /** The owner's only, once cut (POST /:id/cut): signed URL of the trimmed file, as an attachment. */
  cutUrl: string | null;
}

/**
 * Owner tools of `/api/recordings/:id` (its presenter only; others get 403 `recording.forbidden`):
 * - `PATCH` body `RecordingEditBody` → `RecordingView` (rename; set or clear the trim);
 * - `POST /:id/cut` → `RecordingView` with `cutUrl`: the trim cut by ffmpeg stream copy (it starts at the keyframe
 *   at or before `trimStartMs`), kept beside the original;
 * - `POST /:id/cut/confirm` → `RecordingView`: the original is replaced by the cut (trim cleared);
 * - `POST /:id/share` body `RecordingShareBody` → `RecordingShare`: a link to watch without an account.
 */
export interface RecordingEditBody {
  title?: string;
  trimStartMs?: number | null;
  trimEndMs?: number | null;
}
export const RECORDING_TITLE_MAX = 200;
export interface RecordingShareBody {
  /** How long the link works, 60 s to RECORDING_SHARE_MAX_S (7 days). */
  expiresInS: number;
}
export const RECORDING_SHARE_MAX_S = 7 * 24 * 3600;
export interface RecordingShare {
  /** `/api/recordings/:id/share?exp&sig`: the video itself, playable in a browser tab. */
  url: string;
  expiresAt: string;
}

/** Answer of `GET /api/recordings`. */
export interface RecordingList {
  recordings: RecordingView[];
  page: number;
  size: number;
  /** Recordings matching the filters, over all pages: see `totalKind`. */
  total: number;
  /**
   * `exact`: counted for this answer; `cached`: counted at `totalAsOf` (at most RECORDING_TOTAL_TTL_S seconds
   * ago, and never across a change made through any server sharing the store; without a shared store, recordings
   * added since by another server may be missing).
   */
  totalKind: 'exact' | 'cached';
  totalAsOf: string;
  /** Pass as `cursor` for the next page; null on the last page. (`page` is 0 on a page asked for by cursor.) */
  nextCursor: string | null;
}
export const RECORDING_TOTAL_TTL_S = 30;

/**
 * Stream keys (WHIP ingest, `POST /whip` with `Authorization: Bearer <key>`), the signed-in user's own:
 * - `GET /api/stream-keys` → `StreamKeyList` (active keys, newest first; the keys themselves are never shown again);
 * - `POST /api/stream-keys` body `StreamKeyBody` → 201 `StreamKeyCreated` (the key, shown this once);
 * - `PATCH /api/stream-keys/:id` body `StreamKeyBody` → `StreamKeyView` (rename);
 * - `DELETE /api/stream-keys/:id` → 204 (revoked: `POST /whip` refuses it with 401 from then on; a live already on
 *   air with it goes on until it ends). Someone else's key, or a revoked one, is 404 `whip.keyNotFound`.
 * At most STREAM_KEYS_MAX active keys per account (409 `whip.tooManyKeys`).
 */
export interface StreamKeyView {
  id: number;
  /** The default title of the lives started with it. */
  name: string;
  /** The first characters of the key (`sk_Ab3d…`), to tell keys apart. */
  hint: string;
  createdAt: string;
  lastUsedAt: string | null;
}
export interface StreamKeyBody {
  name: string;
}
export interface StreamKeyCreated {
  streamKey: StreamKeyView;
  /** The key itself: shown only in this answer (only its hash is stored). */
  key: string;
}
export interface StreamKeyList {
  streamKeys: StreamKeyView[];
}
export const STREAM_KEY_NAME_MAX = 64;
export const STREAM_KEYS_MAX = 20;

/**
 * REST payloads, shared by api/ and front/. Dates travel as ISO 8601 strings (UTC).
 * Every error answer is `ErrorResponse` with a code from api/contract/errors.ts.
 */
import type { ErrorBody } from './errors.js';

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

/** Body of `POST /api/auth/register` and `POST /api/auth/login`. */
export interface Credentials {
  nickname: string;
  password: string;
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
  /** Why it failed (or `not configured` for a check without a probe, which counts as ok). */
  detail?: string;
}

/** `GET /healthz`: 200 when every check is ok, else 503. */
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

/** How a call ended; `ringing` and `answered` while it is still going on. */
export const CALL_OUTCOMES = ['ringing', 'answered', 'completed', 'rejected', 'missed', 'cancelled', 'busy', 'failed'] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

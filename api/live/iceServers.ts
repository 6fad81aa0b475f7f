import { createHmac } from 'node:crypto';
import type { IceServer } from '../contract/signalling.js';

export interface TurnSettings {
  urls: string[];
  secret: string | undefined;
  /** How long credentials live: the session's lifetime (TOKEN_TTL), so they last as long as the sign-in. */
  ttlSeconds?: number;
}

/**
 * ICE servers for a browser: TURN with time-limited credentials (coturn's `use-auth-secret`): the username is
 * `<expiry unix time>:<user id>`, the password base64(HMAC-SHA1(secret, username)). None when TURN is not configured.
 */
export function iceServersFor(
  userId: number,
  turn: TurnSettings,
  ttlSeconds = turn.ttlSeconds ?? 6 * 3600,
  now = Date.now(),
): IceServer[] {
  if (!turn.secret || turn.urls.length === 0) return [];
  const username = `${Math.floor(now / 1000) + ttlSeconds}:${userId}`;
  const credential = createHmac('sha1', turn.secret).update(username).digest('base64');
  return [{ urls: turn.urls, username, credential }];
}

/**
 * Bearer-token authentication: `Authorization: Bearer <token>`. Missing → 401 `auth.required`; revoked, unknown or
 * malformed → 401 `auth.invalidToken`; past its expiry → 401 `auth.expiredToken` (api/auth/Sessions.ts).
 */
import type { Request, RequestHandler } from 'express';
import type { Session, Sessions } from '../auth/Sessions.js';
import { OnairError } from '../contract/errors.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by requireAuth. */
    auth?: Session & { token: string };
  }
}

/** The bearer token of a request, or null when there is none. */
export function bearerToken(req: Request): string | null {
  const header = req.get('authorization');
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : '';
}

export function requireAuth(sessions: Sessions): RequestHandler {
  return async (req, _res, next) => {
    const token = bearerToken(req);
    if (token === null) throw new OnairError('auth.required', 'sign in first (Authorization: Bearer <token>)');
    if (token === '') throw new OnairError('auth.invalidToken', 'the Authorization header is not a bearer token');
    req.auth = { ...(await sessions.verify(token)), token };
    next();
  };
}

/** The session of a request that went through requireAuth. */
export function authOf(req: Request): Session & { token: string } {
  if (!req.auth) throw new OnairError('auth.required', 'sign in first');
  return req.auth;
}

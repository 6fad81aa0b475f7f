/**
 * `POST /api/auth/register`, `POST /api/auth/login` (both `{ nickname, password }` → `{ token, expiresAt, user }`)
 * and `POST /api/auth/logout` (revokes the bearer token; 204). Rate limited per client address; failed logins are
 * also throttled per account (api/auth/LoginThrottle.ts: 429 `request.rateLimited` with Retry-After).
 */
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Accounts } from '../auth/Accounts.js';
import { LoginThrottled, type LoginThrottle } from '../auth/LoginThrottle.js';
import { OnairError } from '../contract/errors.js';
import type { Sessions } from '../auth/Sessions.js';
import type { AuthResponse } from '../contract/rest.js';
import { requireAuth } from './requireAuth.js';
import { parse } from './validate.js';

// Shapes only; the account rules themselves (api/auth/rules.ts) answer with their own messages and codes.
const credentials = z
  .object({
    nickname: z.string().min(1).max(64),
    password: z.string().min(1).max(1024),
  })
  .strict();

export function authRoutes(deps: {
  accounts: Accounts;
  sessions: Sessions;
  rateLimit: RequestHandler;
  loginThrottle?: LoginThrottle;
}): Router {
  const router = Router();
  router.use(deps.rateLimit);

  router.post('/register', async (req, res) => {
    const { nickname, password } = parse(credentials, req.body, 'body');
    const answer: AuthResponse = await deps.accounts.register(nickname, password);
    res.status(201).json(answer);
  });

  router.post('/login', async (req, res) => {
    const { nickname, password } = parse(credentials, req.body, 'body');
    const throttle = deps.loginThrottle;
    const address = req.ip ?? 'unknown';
    try {
      await throttle?.check(nickname, address);
    } catch (error) {
      if (error instanceof LoginThrottled) res.setHeader('Retry-After', String(error.retryAfterS));
      throw error;
    }
    let answer: AuthResponse;
    try {
      answer = await deps.accounts.login(nickname, password);
    } catch (error) {
      if (error instanceof OnairError && error.code === 'auth.invalidCredentials') {
        await throttle?.failed(nickname, address);
      }
      throw error;
    }
    await throttle?.succeeded(nickname, address);
    res.json(answer);
  });

  router.post('/logout', requireAuth(deps.sessions), async (req, res) => {
    await deps.sessions.revoke(req.auth!.token);
    res.status(204).end();
  });

  return router;
}

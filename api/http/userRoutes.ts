/** `GET /api/me` (the signed-in user) and `GET /api/users/:id/avatar.svg` (public, for <img>). */
import { Router } from 'express';
import { z } from 'zod';
import type { Accounts } from '../auth/Accounts.js';
import { avatarSvg } from '../auth/avatar.js';
import type { Sessions } from '../auth/Sessions.js';
import { OnairError } from '../contract/errors.js';
import type { PublicUser } from '../contract/rest.js';
import { authOf, requireAuth } from './requireAuth.js';
import { parse } from './validate.js';

const userIdParams = z.object({
  id: z
    .string()
    .regex(/^[1-9]\d{0,9}$/, 'must be a user id')
    .transform(Number),
});

export function userRoutes(deps: { accounts: Accounts; sessions: Sessions }): Router {
  const router = Router();

  router.get('/me', requireAuth(deps.sessions), async (req, res) => {
    const session = authOf(req);
    const user = await deps.accounts.findById(session.userId);
    if (!user) {
      // The account is gone: its sessions are worthless.
      await deps.sessions.revokeHash(session.tokenHash);
      throw new OnairError('auth.invalidToken', 'the account of this token no longer exists');
    }
    const body: PublicUser = user.toPublic();
    res.setHeader('Cache-Control', 'no-store');
    res.json(body);
  });

  router.get('/users/:id/avatar.svg', async (req, res) => {
    const { id } = parse(userIdParams, req.params, 'params');
    const user = await deps.accounts.findById(id);
    if (!user) throw new OnairError('request.notFound', `no user with id ${id}`);
    res.setHeader('Content-Type', 'image/svg+xml; charset=utf-8');
    res.setHeader('Cache-Control', 'public, max-age=86400');
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
    res.send(avatarSvg(user.avatarSeed));
  });

  return router;
}

/** `GET /api/calls` (the caller's call log) and `GET /api/users/online` (who can be called now), for signed-in users. */
import { Router } from 'express';
import { z } from 'zod';
import type { Sessions } from '../auth/Sessions.js';
import { CALL_LIST_LIMIT_DEFAULT, CALL_LIST_LIMIT_MAX, type CallList, type OnlineUsers } from '../contract/rest.js';
import type { Models } from '../db/index.js';
import { authOf, requireAuth } from '../http/requireAuth.js';
import { parse } from '../http/validate.js';
import type { CallService } from './CallService.js';

const listQuery = z
  .object({
    limit: z
      .string()
      .regex(/^\d{1,3}$/, 'must be a whole number')
      .transform(Number)
      .pipe(z.number().int().min(1).max(CALL_LIST_LIMIT_MAX))
      .optional(),
  })
  .strict();

/** Online users listed at most (the rest are still callable by nickname). */
const ONLINE_LIST_MAX = 500;

export function callRoutes(calls: CallService, sessions: Sessions): Router {
  const router = Router();
  router.use(requireAuth(sessions));
  router.get('/', async (req, res) => {
    const { limit } = parse(listQuery, req.query, 'query');
    const body: CallList = { calls: await calls.history(authOf(req).userId, limit ?? CALL_LIST_LIMIT_DEFAULT) };
    res.setHeader('Cache-Control', 'no-store');
    res.json(body);
  });
  return router;
}

export function onlineRoutes(
  calls: CallService,
  models: Pick<Models, 'User'>,
  sessions: Sessions,
  avatarUrl: (userId: number) => string,
): Router {
  const router = Router();
  router.use(requireAuth(sessions));
  router.get('/', async (req, res) => {
    parse(z.object({}).strict(), req.query, 'query');
    const me = authOf(req).userId;
    const ids = (await calls.presence.onlineUserIds()).filter((id) => id !== me).slice(0, ONLINE_LIST_MAX);
    const users = ids.length
      ? await models.User.findAll({
          where: { id: ids },
          attributes: ['id', 'nickname', 'nicknameKey'],
          order: [['nicknameKey', 'ASC']],
        })
      : [];
    const busy = await Promise.all(users.map((u) => calls.isBusy(u.id)));
    const body: OnlineUsers = {
      users: users.map((u, i) => ({
        id: u.id,
        nickname: u.nickname,
        avatarUrl: avatarUrl(u.id),
        busy: busy[i] ?? false,
      })),
    };
    res.setHeader('Cache-Control', 'no-store');
    res.json(body);
  });
  return router;
}

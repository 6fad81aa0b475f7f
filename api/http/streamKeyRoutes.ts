/** `/api/stream-keys`: the signed-in user's WHIP stream keys (create, list, rename, revoke); see api/contract/rest.ts. */
import { Router } from 'express';
import { z } from 'zod';
import type { Sessions } from '../auth/Sessions.js';
import type { StreamKeys } from '../auth/StreamKeys.js';
import { STREAM_KEY_NAME_MAX, type StreamKeyCreated, type StreamKeyList } from '../contract/rest.js';
import { authOf, requireAuth } from './requireAuth.js';
import { parse } from './validate.js';

const body = z.object({ name: z.string().trim().min(1, 'must not be empty').max(STREAM_KEY_NAME_MAX) }).strict();
const params = z.object({
  id: z
    .string()
    .regex(/^[1-9]\d{0,9}$/, 'must be a stream key id')
    .transform(Number),
});

export function streamKeyRoutes(keys: StreamKeys, sessions: Sessions): Router {
  const router = Router();
  router.use(requireAuth(sessions));
  router.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  router.get('/', async (req, res) => {
    const answer: StreamKeyList = { streamKeys: await keys.list(authOf(req).userId) };
    res.json(answer);
  });
  router.post('/', async (req, res) => {
    const { name } = parse(body, req.body, 'body');
    const answer: StreamKeyCreated = await keys.create(authOf(req).userId, name);
    res.status(201).json(answer);
  });
  router.patch('/:id', async (req, res) => {
    const { id } = parse(params, req.params, 'params');
    const { name } = parse(body, req.body, 'body');
    res.json(await keys.rename(authOf(req).userId, id, name));
  });
  router.delete('/:id', async (req, res) => {
    const { id } = parse(params, req.params, 'params');
    await keys.revoke(authOf(req).userId, id);
    res.status(204).end();
  });
  return router;
}

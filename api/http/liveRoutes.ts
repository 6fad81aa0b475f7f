/**
 * For signed-in users: `GET /api/lives` (on air now), `GET /api/lives/:id`, and the "Live now" frame of a live:
 * `PUT /api/lives/:id/poster` (its presenter, body `LivePosterUpload`) → 204, `GET /api/lives/:id/poster` →
 * `{ poster: LivePoster }` (api/contract/rest.ts).
 */
import { Router } from 'express';
import { z } from 'zod';
import type { Sessions } from '../auth/Sessions.js';
import { LIVE_POSTER_MAX_BYTES } from '../contract/rest.js';
import { PUBLIC_ID_PATTERN } from '../db/ids.js';
import type { LivePosters } from '../live/LivePosters.js';
import type { LiveService } from '../live/LiveService.js';
import { authOf, requireAuth } from './requireAuth.js';
import { parse } from './validate.js';

const params = z.object({
  id: z.string().regex(PUBLIC_ID_PATTERN, 'must be a live id (12 lowercase letters and digits)'),
});

const posterBody = z
  .object({
    jpeg: z
      .string()
      .min(1)
      .max(Math.ceil(LIVE_POSTER_MAX_BYTES / 3) * 4, 'is too large'),
  })
  .strict('unknown field');

export function liveRoutes(lives: LiveService, sessions: Sessions, posters: LivePosters): Router {
  const router = Router();
  router.use(requireAuth(sessions));
  router.get('/', async (_req, res) => {
    res.json({ lives: await lives.list() });
  });
  router.get('/:id', async (req, res) => {
    const { id } = parse(params, req.params, 'params');
    res.json({ live: await lives.get(id) });
  });
  router.put('/:id/poster', async (req, res) => {
    const { id } = parse(params, req.params, 'params');
    const { jpeg } = parse(posterBody, req.body ?? {}, 'body');
    await posters.put(authOf(req).userId, id, jpeg);
    res.status(204).end();
  });
  router.get('/:id/poster', async (req, res) => {
    const { id } = parse(params, req.params, 'params');
    res.setHeader('Cache-Control', 'no-store');
    res.json({ poster: await posters.get(id) });
  });
  return router;
}

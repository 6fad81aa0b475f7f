/** `GET /api/lives` (on air now) and `GET /api/lives/:id`, for signed-in users. */
import { Router } from 'express';
import { z } from 'zod';
import type { Sessions } from '../auth/Sessions.js';
import { PUBLIC_ID_PATTERN } from '../db/ids.js';
import type { LiveService } from '../live/LiveService.js';
import { requireAuth } from './requireAuth.js';
import { parse } from './validate.js';

const params = z.object({
  id: z.string().regex(PUBLIC_ID_PATTERN, 'must be a live id (12 lowercase letters and digits)'),
});

export function liveRoutes(lives: LiveService, sessions: Sessions): Router {
  const router = Router();
  router.use(requireAuth(sessions));
  router.get('/', async (_req, res) => {
    res.json({ lives: await lives.list() });
  });
  router.get('/:id', async (req, res) => {
    const { id } = parse(params, req.params, 'params');
    res.json({ live: await lives.get(id) });
  });
  return router;
}

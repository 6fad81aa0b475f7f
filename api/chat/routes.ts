/**
 * `GET /api/recordings/:id/chat` → `RecordingInteractions`: the chat and reactions of a recording's live, by offset
 * into the recording, for whoever may see the recording (the library decides: `recording.notFound` otherwise).
 * Mounted at `/api/recordings`, beside the library's own routes.
 */
import { Router } from 'express';
import { z } from 'zod';
import type { Sessions } from '../auth/Sessions.js';
import { authOf, requireAuth } from '../http/requireAuth.js';
import { parse } from '../http/validate.js';
import type { RecordingLibrary } from '../recordings/RecordingLibrary.js';
import type { ChatService } from './ChatService.js';

const params = z.object({
  id: z
    .string()
    .regex(/^[1-9]\d{0,9}$/, 'must be a recording id (a positive whole number)')
    .transform(Number)
    .pipe(z.number().max(2_147_483_647, 'is not a recording id')),
});

export function chatRoutes(chat: ChatService, library: RecordingLibrary, sessions: Sessions): Router {
  const router = Router();
  router.get('/:id/chat', requireAuth(sessions), async (req, res) => {
    const { id } = parse(params, req.params, 'params');
    const recording = await library.get(id, authOf(req).userId);
    res.setHeader('Cache-Control', 'no-store');
    res.json(await chat.interactions(recording));
  });
  return router;
}

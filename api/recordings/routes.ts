/**
 * REST of the recordings library, mounted at `/api/recordings`:
 * - `GET /` list (filters, paging, sorting: api/contract/rest.ts `RecordingListQuery`) → `RecordingList`
 * - `GET /:id` → `RecordingView`
 * - `DELETE /:id` (its presenter only) → 204
 * - owner tools (its presenter only): `PATCH /:id` (rename, trim), `POST /:id/cut`, `POST /:id/cut/confirm`,
 *   `POST /:id/share` (see api/contract/rest.ts)
 * - `GET /:id/download`, `/:id/cut` (attachments) and `/:id/share` (a share link), signed like the media
 * - `GET|HEAD /:id/media?exp&sig`, `/:id/poster?exp&sig`: the files, through signed URLs (no Authorization header
 *   needed), with range requests (206, Content-Range, 416), ETag and Last-Modified, by `send`.
 */
import { Router, type Request, type Response, type NextFunction } from 'express';
import send from 'send';
import { z } from 'zod';
import type { Sessions } from '../auth/Sessions.js';
import { OnairError } from '../contract/errors.js';
import { RECORDING_SHARE_MAX_S, RECORDING_TITLE_MAX } from '../contract/rest.js';
import { authOf, requireAuth } from '../http/requireAuth.js';
import { parse } from '../http/validate.js';
import type { RecordingLibrary } from './RecordingLibrary.js';
import { recordingListQuerySchema, type RecordingFilters } from './RecordingQuery.js';
import type { SignedKind, UrlSigner } from './UrlSigner.js';

export interface RecordingsRouterDeps {
  library: RecordingLibrary;
  signer: UrlSigner;
  sessions: Sessions;
}

/** A recording id: a positive 32-bit integer written plainly (no sign, no leading zero, no exponent). */
const idParams = z.object({
  id: z.string().regex(/^[1-9]\d{0,9}$/, 'must be a recording id (a positive whole number)').transform(Number).pipe(z.number().max(2_147_483_647, 'is not a recording id')),
});

/** PATCH body: a new title, and the trim (ms; null clears a point). */
const editBody = z
  .object({
    title: z.string().trim().min(1, 'must not be blank').max(RECORDING_TITLE_MAX, `must be at most ${RECORDING_TITLE_MAX} characters`).optional(),
    trimStartMs: z.number().int().min(0).max(2_147_483_647).nullable().optional(),
    trimEndMs: z.number().int().min(1).max(2_147_483_647).nullable().optional(),
  })
  .strict('unknown field')
  .refine((b) => Object.keys(b).length > 0, 'give title, trimStartMs or trimEndMs');

const shareBody = z
  .object({ expiresInS: z.number().int().min(60, 'must be at least 60 seconds').max(RECORDING_SHARE_MAX_S, `must be at most ${RECORDING_SHARE_MAX_S} seconds (7 days)`) })
  .strict('unknown field');

/** A signed URL's parameters: nothing else. */
const signedQuery = z.object({ exp: z.string().optional(), sid: z.string().optional(), sig: z.string().optional() }).strict('unknown query parameter');

/** Headers `send` set for a file that must not stay on an error answer (which is JSON). */
const FILE_HEADERS = ['Content-Disposition', 'Content-Type', 'Content-Length', 'Content-Range', 'ETag', 'Last-Modified', 'Accept-Ranges', 'Cache-Control'];

export function recordingsRouter(deps: RecordingsRouterDeps): Router {
  const { library, signer } = deps;
  const router = Router();
  const auth = requireAuth(deps.sessions);

  /** Validated list queries by their query string: a library's pages ask the same few again and again. */
  const parsedLists = new Map<string, RecordingFilters>();
  router.get('/', auth, async (req, res) => {
    const at = req.originalUrl.indexOf('?');
    const raw = at < 0 ? '' : req.originalUrl.slice(at + 1);
    let filters = parsedLists.get(raw);
    if (filters === undefined) {
      filters = Object.freeze(parse(recordingListQuerySchema, req.query, 'query'));
      if (parsedLists.size >= 1000) parsedLists.clear();
      parsedLists.set(raw, filters);
    }
    const json = await library.listJson(filters, authOf(req).userId, authOf(req).id);
    // No ETag either: the answer is never kept, so hashing it would be for nothing.
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', json.length);
    res.end(json);
  });

  router.get('/:id', auth, async (req, res) => {
    const { id } = parse(idParams, req.params, 'params');
    res.setHeader('Cache-Control', 'no-store');
    res.json(await library.get(id, authOf(req).userId, authOf(req).id));
  });

  router.patch('/:id', auth, async (req, res) => {
    const { id } = parse(idParams, req.params, 'params');
    const body = parse(editBody, req.body ?? {}, 'body');
    res.json(await library.edit(id, authOf(req).userId, body, authOf(req).id));
  });

  router.post('/:id/cut', auth, async (req, res) => {
    const { id } = parse(idParams, req.params, 'params');
    res.json(await library.cut(id, authOf(req).userId, authOf(req).id));
  });

  router.post('/:id/cut/confirm', auth, async (req, res) => {
    const { id } = parse(idParams, req.params, 'params');
    res.json(await library.confirmCut(id, authOf(req).userId, authOf(req).id));
  });

  router.post('/:id/share', auth, async (req, res) => {
    const { id } = parse(idParams, req.params, 'params');
    const body = parse(shareBody, req.body ?? {}, 'body');
    res.status(201).json(await library.share(id, authOf(req).userId, body.expiresInS * 1000));
  });

  router.delete('/:id', auth, async (req, res) => {
    const { id } = parse(idParams, req.params, 'params');
    await library.delete(id, authOf(req).userId);
    res.status(204).end();
  });

  const serve = (kind: SignedKind) => async (req: Request, res: Response, next: NextFunction) => {
    const { id } = parse(idParams, req.params, 'params');
    const query = parse(signedQuery, req.query, 'query');
    signer.verify(kind, id, query.exp, query.sig, query.sid);
    const file = await library.file(id, kind);
    // A link lives no longer than the session it was handed to (an unbound one was never handed out), except a share
    // link, which is for people without an account and lives as long as its owner chose.
    if (kind !== 'share' && !(await deps.sessions.isActiveId(query.sid))) {
      throw new OnairError('recording.expiredSignature', 'this link ended with your session: sign in and open the recording again');
    }
    send(req, file.path, { dotfiles: 'allow', index: false, etag: true, lastModified: true, acceptRanges: true, cacheControl: false })
      .on('headers', (response: Response) => {
        response.setHeader('Content-Type', file.mimeType);
        if (file.attachment) {
          response.setHeader('Content-Disposition', `attachment; filename="recording.webm"; filename*=UTF-8''${encodeURIComponent(file.attachment)}`);
        }
        // Private: the URL is a capability; the browser may keep it until the link expires.
        response.setHeader('Cache-Control', `private, max-age=${Math.max(0, Math.floor((Number(query.exp) * 1000 - Date.now()) / 1000))}`);
      })
      .on('error', (err: { status?: number; headers?: Record<string, string> }) => {
        for (const header of FILE_HEADERS) res.removeHeader(header);
        if (err.status === 416) {
          res.setHeader('Content-Range', err.headers?.['Content-Range'] ?? 'bytes */*');
          next(new OnairError('recording.badRange', 'the requested range is not satisfiable'));
        } else if (err.status === 412) {
          res.status(412).end();
        } else if (err.status === 404) {
          next(new OnairError('recording.notFound', `recording ${id} has no ${kind === 'media' ? 'media file' : 'poster'}`));
        } else {
          next(err);
        }
      })
      .pipe(res);
  };
  router.get('/:id/media', serve('media'));
  router.get('/:id/poster', serve('poster'));
  router.get('/:id/download', serve('download'));
  router.get('/:id/cut', serve('cut'));
  router.get('/:id/share', serve('share'));

  // A path parameter that is not valid percent-encoding (e.g. `%c0%af`) fails in express's decoding.
  router.use((err: unknown, _req: Request, _res: Response, next: NextFunction) => {
    if (!(err instanceof OnairError) && (err instanceof URIError || (err as { status?: number } | null)?.status === 400)) {
      next(new OnairError('request.invalid', 'params: the path is not valid'));
    } else {
      next(err);
    }
  });

  return router;
}

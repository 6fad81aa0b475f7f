/**
 * WHIP (RFC 9725) and WHEP over HTTP, outside /api (encoders are configured with a bare URL):
 * - `POST /whip` (`Authorization: Bearer <stream key>`, `Content-Type: application/sdp`, optional `?title=` and
 *   `?timeZone=`) → 201, the gathered SDP answer, `Location: /whip/sessions/<id>`, `ETag`, `Link` ICE servers;
 * - `POST /whep/<liveId>` (`Authorization: Bearer <account token>`, a recvonly offer) → 201, likewise, with
 *   `Location: /whep/sessions/<id>`;
 * - `PATCH` a session (`application/trickle-ice-sdpfrag`): trickled candidates → 204; an ICE restart → 422;
 * - `DELETE` a session → 200: a WHIP live ends (its recording stored), a WHEP viewer leaves;
 * - `OPTIONS` on each (CORS preflight; every answer carries `Access-Control-Allow-Origin: *`: credentials travel
 *   as Bearer headers, never cookies).
 * Errors are the API's `{ error: { code, message } }`: 401 auth.*, 415 request.unsupportedType, 413
 * request.tooLarge, 400 sdp.invalid, 404 request.notFound / live.notFound, 409 live.alreadyLive, 412, 422.
 */
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { Sessions } from '../auth/Sessions.js';
import type { StreamKeys } from '../auth/StreamKeys.js';
import { OnairError } from '../contract/errors.js';
import type { IceServer } from '../contract/signalling.js';
import type { Models } from '../db/index.js';
import { PUBLIC_ID_PATTERN } from '../db/ids.js';
import { MAX_SDP_BYTES } from '../../media/sdp.js';
import type { WhipAnswer, WhipKind, WhipService } from '../whip/WhipService.js';
import { bearerToken } from './requireAuth.js';
import { parse } from './validate.js';

const SDP = 'application/sdp';
const SDPFRAG = 'application/trickle-ice-sdpfrag';

const publishQuery = z
  .object({
    title: z.string().trim().min(1).max(120).optional(),
    timeZone: z.string().max(64).optional(),
  })
  .strict();
const liveParams = z.object({
  liveId: z.string().regex(PUBLIC_ID_PATTERN, 'must be a live id (12 lowercase letters and digits)'),
});
const SESSION_ID = /^[A-Za-z0-9_-]{22}$/;

/** A session's id from its URL; anything that cannot be one is an unknown session (404). */
function sessionId(req: Request, kind: WhipKind): string {
  const id = String(req.params.id ?? '');
  if (!SESSION_ID.test(id)) throw new OnairError('request.notFound', `no ${kind.toUpperCase()} session here`);
  return id;
}

/** RFC 9725 §4.6: one `Link` per ICE server URL, TURN credentials as attributes. */
export function iceServerLinks(servers: IceServer[]): string[] {
  const quote = (value: string) => `"${value.replace(/["\\]/g, '\\$&')}"`;
  return servers.flatMap((server) =>
    [server.urls].flat().map((url) => {
      const parts = [`<${url}>`, 'rel="ice-server"'];
      if (server.username !== undefined) parts.push(`username=${quote(server.username)}`);
      if (server.credential !== undefined)
        parts.push(`credential=${quote(server.credential)}`, 'credential-type="password"');
      return parts.join('; ');
    }),
  );
}

const cors: RequestHandler = (_req, res, next) => {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', 'Location, ETag, Link, Accept-Patch, Accept-Post');
  res.setHeader('Cache-Control', 'no-store');
  next();
};

function preflight(methods: string, extra: Record<string, string> = {}): RequestHandler {
  return (_req, res) => {
    res.setHeader('Allow', methods);
    res.setHeader('Access-Control-Allow-Methods', methods);
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, If-Match');
    res.setHeader('Access-Control-Max-Age', '86400');
    for (const [name, value] of Object.entries(extra)) res.setHeader(name, value);
    res.status(204).end();
  };
}

/** 415 unless the body is `type`; then the body read as text, at most MAX_SDP_BYTES (413 above). */
function body(type: string): RequestHandler[] {
  return [
    (req, _res, next) => {
      if (!req.is(type)) throw new OnairError('request.unsupportedType', `the body must be ${type}`);
      next();
    },
    express.text({ type, limit: MAX_SDP_BYTES }),
  ];
}

function sdpText(req: Request): string {
  return typeof req.body === 'string' ? req.body : '';
}

function created(res: Response, kind: WhipKind, answer: WhipAnswer): void {
  res.status(201);
  res.setHeader('Content-Type', SDP);
  res.setHeader('Location', `/${kind}/sessions/${answer.sessionId}`);
  res.setHeader('ETag', answer.etag);
  res.setHeader('Accept-Patch', SDPFRAG);
  const links = iceServerLinks(answer.iceServers);
  if (links.length) res.setHeader('Link', links);
  res.send(answer.sdpAnswer);
}

export function whipRoutes(deps: {
  whip: WhipService;
  streamKeys: StreamKeys;
  sessions: Sessions;
  db: Pick<Models, 'User'>;
}): Router {
  const router = Router();
  router.use(['/whip', '/whep'], cors);

  const userOf = async (userId: number) => {
    const user = await deps.db.User.findByPk(userId);
    if (!user) throw new OnairError('auth.invalidToken', 'the account of this credential is gone');
    return { userId: user.id, nickname: user.nickname };
  };
  const keyAuth: RequestHandler = async (req, res, next) => {
    const key = await deps.streamKeys.verify(bearerToken(req));
    res.locals.streamKey = key;
    next();
  };
  const accountAuth: RequestHandler = async (req, res, next) => {
    const token = bearerToken(req);
    if (token === null) throw new OnairError('auth.required', 'sign in first (Authorization: Bearer <token>)');
    if (token === '') throw new OnairError('auth.invalidToken', 'the Authorization header is not a bearer token');
    res.locals.userId = (await deps.sessions.verify(token)).userId;
    next();
  };

  router.options('/whip', preflight('POST, OPTIONS', { 'Accept-Post': SDP }));
  router.post('/whip', keyAuth, ...body(SDP), async (req, res) => {
    const query = parse(publishQuery, req.query, 'query');
    const key = res.locals.streamKey as { userId: number; name: string };
    const answer = await deps.whip.publish(await userOf(key.userId), {
      sdpOffer: sdpText(req),
      title: query.title ?? key.name,
      timeZone: query.timeZone,
    });
    created(res, 'whip', answer);
  });

  router.options('/whep/:liveId', preflight('POST, OPTIONS', { 'Accept-Post': SDP }));
  router.post('/whep/:liveId', accountAuth, ...body(SDP), async (req, res) => {
    const { liveId } = parse(liveParams, req.params, 'params');
    const answer = await deps.whip.play(await userOf(res.locals.userId as number), liveId, sdpText(req));
    created(res, 'whep', answer);
  });

  for (const kind of ['whip', 'whep'] as const) {
    const path = `/${kind}/sessions/:id`;
    router.options(path, preflight('PATCH, DELETE, OPTIONS', { 'Accept-Patch': SDPFRAG }));
    router.patch(path, ...body(SDPFRAG), async (req, res) => {
      const id = sessionId(req, kind);
      await deps.whip.patch(kind, id, sdpText(req), req.get('if-match'));
      res.status(204).end();
    });
    router.delete(path, async (req, res) => {
      await deps.whip.end(kind, sessionId(req, kind));
      res.status(200).end();
    });
  }
  return router;
}

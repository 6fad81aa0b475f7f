/**
 * `GET /metrics` is for the scraper only: it requires `Authorization: Bearer <METRICS_TOKEN>` (compared in constant
 * time). No header answers 401 `auth.required`, a wrong one 401 `auth.invalidToken`. Without METRICS_TOKEN the route
 * is not served at all (404).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { OnairError } from '../contract/errors.js';
import { bearerToken } from './requireAuth.js';

const digest = (text: string) => createHash('sha256').update(text).digest();

export function metricsAuth(token: string): RequestHandler {
  const expected = digest(token);
  return (req, res, next) => {
    const given = bearerToken(req);
    if (given === null) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      throw new OnairError('auth.required', 'the metrics need Authorization: Bearer <METRICS_TOKEN>');
    }
    if (!timingSafeEqual(digest(given), expected)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="metrics", error="invalid_token"');
      throw new OnairError('auth.invalidToken', 'wrong metrics token');
    }
    next();
  };
}

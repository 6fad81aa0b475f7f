/**
 * The built front end (front/dist) served by the API: hashed assets cached for a year, index.html never cached,
 * and any other GET outside the API whose last segment has no file extension answered with index.html
 * (client-side routes such as /live/:id); a missing file such as /assets/old.js stays a 404.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';

/** Paths that are never the SPA's. */
const SERVER_PATHS = /^\/(api|socket\.io|healthz|metrics)(\/|$)/;

/** A router serving `dir`, or null when it holds no index.html (front end not built). */
export function frontStatic(dir: string): Router | null {
  const index = path.join(dir, 'index.html');
  if (!existsSync(index)) return null;
  const router = Router();
  router.use(
    express.static(dir, {
      index: false,
      fallthrough: true,
      setHeaders(res, file) {
        const immutable = file.startsWith(path.join(dir, 'assets') + path.sep);
        res.setHeader('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    }),
  );
  router.use((req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (SERVER_PATHS.test(req.path) || /\.[^/]*$/.test(req.path) || !req.accepts('html')) return next();
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
  return router;
}

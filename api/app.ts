/**
 * The express application: security headers, request logs and metrics, the JSON API with its one error shape,
 * health and metrics endpoints, and the built front end. Pure wiring: services come in `deps`.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import type { Logger } from 'pino';
import type { Accounts } from './auth/Accounts.js';
import type { Sessions } from './auth/Sessions.js';
import type { Config } from './config.js';
import type { Database } from './db/index.js';
import { authRoutes } from './http/authRoutes.js';
import { LoginThrottle } from './auth/LoginThrottle.js';
import { errorHandler, notFound } from './http/errorHandler.js';
import { frontStatic } from './http/frontStatic.js';
import { healthHandler, type ProbeResult } from './http/health.js';
import { createMetrics, trackMount, type Metrics } from './http/metrics.js';
import { storeRateLimit } from './http/rateLimit.js';
import { userRoutes } from './http/userRoutes.js';
import type { Store } from './store/Store.js';
import { SIGNALLING_PATH } from './contract/signalling.js';
import { metricsAuth } from './http/metricsAuth.js';

/** The built front end, next to api/. */
export const FRONT_DIST = fileURLToPath(new URL('../front/dist/', import.meta.url));

/** Largest JSON body the API reads (413 `request.tooLarge` above). */
export const JSON_LIMIT = '32kb';

export interface AppDeps {
  config: Config;
  log: Logger;
  db: Database;
  store: Store;
  sessions: Sessions;
  accounts: Accounts;
  /** Created when absent; pass one to add metrics from other modules. */
  metrics?: Metrics;
  /** Media server reachability for /healthz (absent: reported as not configured). */
  mediaProbe?: () => Promise<ProbeResult>;
  /** Folder of the built front end; null serves none. Default: front/dist. */
  frontDir?: string | null;
  /** More API routers (later features), mounted before the API's 404, e.g. `{ path: '/api/lives', router }`. */
  routers?: Array<{ path: string; router: RequestHandler }>;
  /** Routers outside /api (WHIP and WHEP), mounted before the front end. */
  rootRouters?: RequestHandler[];
}

export function createApp(deps: AppDeps): Express {
  const { config, log } = deps;
  const metrics = deps.metrics ?? createMetrics();
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);

  // socket.io's engine answers its own requests (long-polling) on the same HTTP server: express stays out of them
  // (else it answered 404 after engine.io had begun its answer, throwing ERR_HTTP_HEADERS_SENT).
  const enginePath = `${SIGNALLING_PATH}/`;
  app.use((req, _res, next) => {
    if (req.url.startsWith(enginePath)) return;
    next();
  });
  app.use(metrics.middleware);
  app.use(
    pinoHttp({
      logger: log,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      customLogLevel: (req, res, err) => {
        if (err || res.statusCode >= 500) return 'error';
        if (res.statusCode >= 400) return 'warn';
        // Probes and scrapes every few seconds would drown the log.
        if (req.url === '/healthz' || req.url === '/metrics') return 'silent';
        return 'info';
      },
      // One short line per request: no headers (so no credentials), no bodies.
      serializers: {
        req: (req: { id: unknown; method: string; url: string; remoteAddress?: string }) => ({
          id: req.id,
          method: req.method,
          url: req.url.split('?')[0],
          remoteAddress: req.remoteAddress,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      customSuccessObject: (_req, res, value: Record<string, unknown>) => {
        const code = (res as unknown as { locals?: { errorCode?: string } }).locals?.errorCode;
        return code ? { ...value, errorCode: code } : value;
      },
    }),
  );

  const https = config.publicUrl.startsWith('https:');
  const publicOrigin = new URL(config.publicUrl);
  const wsOrigin = `${https ? 'wss' : 'ws'}://${publicOrigin.host}`;
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:', 'blob:'],
          mediaSrc: ["'self'", 'blob:'],
          connectSrc: ["'self'", wsOrigin],
          fontSrc: ["'self'", 'data:'],
          workerSrc: ["'self'", 'blob:'],
          objectSrc: ["'none'"],
          frameAncestors: ["'none'"],
          upgradeInsecureRequests: https ? [] : null,
        },
      },
      strictTransportSecurity: https ? { maxAge: 15_552_000 } : false,
    }),
  );

  app.get(
    '/healthz',
    healthHandler({ database: () => deps.db.ping(), store: () => deps.store.ping(), media: deps.mediaProbe }),
  );
  // Not public: only with METRICS_TOKEN set, and only to `Authorization: Bearer <METRICS_TOKEN>`.
  if (config.metricsToken) app.get('/metrics', metricsAuth(config.metricsToken), metrics.handler);

  const api = express.Router();
  api.use(express.json({ limit: JSON_LIMIT, strict: true }));
  api.use(trackMount);
  api.use(
    '/auth',
    trackMount,
    authRoutes({
      accounts: deps.accounts,
      sessions: deps.sessions,
      rateLimit: storeRateLimit(deps.store, {
        name: 'auth',
        limit: config.authRateLimit,
        windowMs: 60_000,
        what: 'sign-in attempts',
      }),
      loginThrottle: new LoginThrottle(deps.store, {
        perAddress: config.loginFailureLimit,
        perAccount: config.loginAccountFailureLimit,
        windowMs: config.loginFailureWindowMs,
      }),
    }),
  );
  api.use(userRoutes({ accounts: deps.accounts, sessions: deps.sessions }));
  for (const { path, router } of deps.routers ?? []) {
    api.use(path.replace(/^\/api(?=\/|$)/, '') || '/', trackMount, router);
  }
  api.use(notFound);
  app.use('/api', api);
  for (const router of deps.rootRouters ?? []) app.use(router);

  const front = deps.frontDir === null ? null : frontStatic(deps.frontDir ?? FRONT_DIST);
  if (front) app.use(front);

  app.use(notFound);
  app.use(errorHandler);
  return app;
}

/**
 * Prometheus metrics (prom-client): Node's default metrics and an HTTP request duration histogram, in a registry
 * of this app (not the global one, so that several servers can live in one process). Later modules add their own
 * metrics to `registry`.
 */
import type { Request, RequestHandler } from 'express';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export interface Metrics {
  registry: Registry;
  /** Times every request; mount first. */
  middleware: RequestHandler;
  /** `GET /metrics`. */
  handler: RequestHandler;
}

/**
 * Remembers where a router is mounted: express restores `req.baseUrl` when an error leaves the router, so the
 * route label would lose its prefix. Put it in front of every mounted router (`app.use(path, trackMount, router)`).
 */
export const trackMount: RequestHandler = (req, res, next) => {
  res.locals.routeBase = req.baseUrl;
  next();
};

/** The route pattern (low cardinality) a request matched, or a fixed label. */
function routeLabel(req: Request, base: unknown): string {
  const route = req.route as { path?: unknown } | undefined;
  if (route && typeof route.path === 'string') return `${typeof base === 'string' ? base : req.baseUrl}${route.path}`;
  if (req.path.startsWith('/api/')) return 'unmatched';
  return 'static';
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ app: 'onair' });
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return {
    registry,
    middleware: (req, res, next) => {
      const end = duration.startTimer();
      res.once('finish', () =>
        end({ method: req.method, route: routeLabel(req, res.locals.routeBase), status_code: String(res.statusCode) }),
      );
      next();
    },
    handler: async (_req, res) => {
      res.setHeader('Content-Type', registry.contentType);
      res.setHeader('Cache-Control', 'no-store');
      res.send(await registry.metrics());
    },
  };
}

/**
 * `GET /healthz`: is the database, the store and the media server reachable? 200 when all are, else 503; each
 * check reports its time and, when it fails, why. A check that hangs fails after CHECK_TIMEOUT_MS.
 */
import type { RequestHandler } from 'express';
import type { HealthCheck, HealthReport } from '../contract/rest.js';

export const CHECK_TIMEOUT_MS = 3000;

export interface HealthProbes {
  database: () => Promise<boolean>;
  store: () => Promise<boolean>;
  /** Absent when no media server is wired: reported as ok, "not configured". */
  media?: () => Promise<boolean>;
}

async function check(probe: (() => Promise<boolean>) | undefined, timeoutMs: number): Promise<HealthCheck> {
  if (!probe) return { ok: true, ms: 0, detail: 'not configured' };
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    const outcome = await Promise.race([
      probe().then(
        (ok) => (ok ? true : 'unreachable'),
        (err: unknown) => (err as Error)?.message || 'failed',
      ),
      timeout,
    ]);
    const ms = Math.round(performance.now() - started);
    return outcome === true ? { ok: true, ms } : { ok: false, ms, detail: outcome };
  } finally {
    clearTimeout(timer);
  }
}

export async function healthReport(probes: HealthProbes, timeoutMs = CHECK_TIMEOUT_MS): Promise<HealthReport> {
  const [database, store, media] = await Promise.all([
    check(probes.database, timeoutMs),
    check(probes.store, timeoutMs),
    check(probes.media, timeoutMs),
  ]);
  const status = database.ok && store.ok && media.ok ? 'ok' : 'degraded';
  return { status, checks: { database, store, media } };
}

export function healthHandler(probes: HealthProbes, timeoutMs = CHECK_TIMEOUT_MS): RequestHandler {
  return async (_req, res) => {
    const report = await healthReport(probes, timeoutMs);
    res.setHeader('Cache-Control', 'no-store');
    res.status(report.status === 'ok' ? 200 : 503).json(report);
  };
}

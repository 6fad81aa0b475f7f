/**
 * `GET /healthz`: is the database, the store and the media server reachable? 200 when all are, else 503; each
 * check reports its time and, when it fails, why. A check that hangs fails after CHECK_TIMEOUT_MS. A check that
 * passes degraded (one of several media servers lost) makes the status `degraded` with a 200: still serving.
 */
import type { RequestHandler } from 'express';
import type { HealthCheck, HealthReport } from '../contract/rest.js';

export const CHECK_TIMEOUT_MS = 3000;

/** A probe's answer: reachable or not, or ok but degraded (with why). */
export type ProbeResult = boolean | { ok: boolean; degraded?: boolean; detail?: string };

export interface HealthProbes {
  database: () => Promise<boolean>;
  store: () => Promise<boolean>;
  /** Absent when no media server is wired: reported as ok, "not configured". */
  media?: () => Promise<ProbeResult>;
}

async function check(probe: (() => Promise<ProbeResult>) | undefined, timeoutMs: number): Promise<HealthCheck> {
  if (!probe) return { ok: true, ms: 0, detail: 'not configured' };
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    const outcome = await Promise.race([
      probe().then(
        (result): true | string | HealthCheck => {
          if (typeof result !== 'boolean') {
            if (!result.ok) return result.detail ?? 'unreachable';
            if (result.degraded) return { ok: true, ms: 0, degraded: true, detail: result.detail ?? 'degraded' };
            return true;
          }
          return result ? true : 'unreachable';
        },
        (err: unknown) => (err as Error)?.message || 'failed',
      ),
      timeout,
    ]);
    const ms = Math.round(performance.now() - started);
    if (typeof outcome === 'object') return { ...outcome, ms };
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
  const ok = database.ok && store.ok && media.ok;
  const status = ok && !media.degraded ? 'ok' : 'degraded';
  return { status, checks: { database, store, media } };
}

export function healthHandler(probes: HealthProbes, timeoutMs = CHECK_TIMEOUT_MS): RequestHandler {
  return async (_req, res) => {
    const report = await healthReport(probes, timeoutMs);
    res.setHeader('Cache-Control', 'no-store');
    const up = Object.values(report.checks).every((c) => c.ok);
    res.status(up ? 200 : 503).json(report);
  };
}

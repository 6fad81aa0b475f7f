/**
 * bench/call.ts: how long a call takes to set up through the whole stack (two Chromium contexts, socket.io, the
 * calls and live layers, kurento-client, the embedded engine): from the callee's accept to both sides rendering the
 * other's first video frame, and from the invite to the ring at the callee; then hang-up to every pipeline released.
 * Calls one after the other; prints each, p50/p95, and as its last line one JSON object.
 * Needs Chromium; uses a temporary SQLite database and the in-process store. Usage: npx tsx bench/call.ts [N]
 */
import { launchBrowser, newContext } from '../drivers/browser.js';
import { openHarness, type Harness } from '../drivers/harness.js';
import { registerUser } from '../drivers/http.js';
import { waitFor } from '../drivers/wait.js';
import { startScratchServer } from './scratchServer.js';

const calls = Number(process.argv[2] ?? 10);
const scratch = await startScratchServer('call');
const { server } = scratch;
const browser = await launchBrowser();
const pipelines = () => scratch.pipelines();
const ringMs: number[] = [];
const setupMs: number[] = [];
const releaseMs: number[] = [];
try {
  const baseline = await pipelines();
  for (let i = 0; i < calls; i++) {
    // Fresh users and pages per call (the invite rate limit is per user; each page keeps one call socket).
    const [a, b] = await Promise.all([registerUser(server.url), registerUser(server.url)]);
    const [ca, cb] = await Promise.all([newContext(browser), newContext(browser)]);
    try {
      const [pa, pb] = await Promise.all([openHarness(ca, server.url), openHarness(cb, server.url)]);
      await Promise.all([pa.callConnect('me', a.token), pb.callConnect('me', b.token)]);
      const t0 = performance.now();
      const invited = await pa.callRequest('me', 'call:invite', { nickname: b.nickname });
      if (!invited.ok) throw new Error(`invite failed: ${JSON.stringify(invited)}`);
      const callId: string = invited.call.id;
      await waitFor(
        async () => (await pb.callEvents('me')).some(([e, m]) => e === 'call:state' && m.id === callId),
        'the ring',
        { intervalMs: 2 },
      );
      ringMs.push(performance.now() - t0);

      const t1 = performance.now();
      const accepted = await pb.callRequest('me', 'call:accept', { callId });
      if (!accepted.ok) throw new Error(`accept failed: ${JSON.stringify(accepted)}`);
      await Promise.all([join(pa, callId), join(pb, callId)]);
      await waitFor(
        async () =>
          (await pa.firstFrameMs('me:peer')) !== undefined && (await pb.firstFrameMs('me:peer')) !== undefined,
        'both sides rendering',
        { timeoutMs: 30_000, intervalMs: 5 },
      );
      setupMs.push(performance.now() - t1);

      const t2 = performance.now();
      await pa.callRequest('me', 'call:hangUp', { callId });
      await waitFor(async () => (await pipelines()) === baseline, 'pipelines released', { intervalMs: 5 });
      releaseMs.push(performance.now() - t2);
      console.log(
        `call ${String(i + 1).padStart(2)}: ring ${ringMs.at(-1)!.toFixed(0)} ms, accept → both rendering ${setupMs.at(-1)!.toFixed(0)} ms, hang-up → released ${releaseMs.at(-1)!.toFixed(0)} ms`,
      );
    } finally {
      await Promise.all([ca.close(), cb.close()]);
    }
  }
  const figures = {
    bench: 'call',
    calls,
    ringP50Ms: pct(ringMs, 50),
    setupP50Ms: pct(setupMs, 50),
    setupP95Ms: pct(setupMs, 95),
    releaseP50Ms: pct(releaseMs, 50),
  };
  console.log(
    `ring p50 ${figures.ringP50Ms} ms; accept → both rendering p50 ${figures.setupP50Ms} ms, p95 ${figures.setupP95Ms} ms; hang-up → released p50 ${figures.releaseP50Ms} ms`,
  );
  console.log(JSON.stringify(figures));
} finally {
  await browser.close();
  await scratch.close();
}

/** Present this side, then watch the other as soon as it is on air. */
async function join(page: Harness, callId: string): Promise<void> {
  const presented = await page.callPresent('me', callId);
  if (!presented.ok) throw new Error(`present failed: ${JSON.stringify(presented)}`);
  await waitFor(
    async () => (await page.callEvents('me')).some(([e, m]) => e === 'call:peerLive' && m.callId === callId),
    'the other side on air',
    { timeoutMs: 30_000, intervalMs: 5 },
  );
  const watched = await page.callWatch('me', callId);
  if (!watched.ok) throw new Error(`watch failed: ${JSON.stringify(watched)}`);
}

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0);
}

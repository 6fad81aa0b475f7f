/**
 * bench:join: time from a viewer's "watch" to its first rendered video frame, through the whole stack (Chromium,
 * socket.io, the live layer, kurento-client, the embedded engine). One presenter, 20 viewers joining one after
 * the other; prints each join, p50/p95, and as its last line one JSON object.
 * Needs Chromium; uses a temporary SQLite database and the in-process store. Usage: npm run bench:join [-- N]
 */
import { launchBrowser, newContext } from '../drivers/browser.js';
import { openHarness } from '../drivers/harness.js';
import { registerUser } from '../drivers/http.js';
import { waitFor } from '../drivers/wait.js';
import { startScratchServer } from './scratchServer.js';

const joins = Number(process.argv[2] ?? 20);
const scratch = await startScratchServer('join');
const { server } = scratch;
const browser = await launchBrowser();
try {
  const context = await newContext(browser);
  const presenterPage = await openHarness(context, server.url);
  const viewerPage = await openHarness(context, server.url);
  const presenter = await registerUser(server.url);
  const viewer = await registerUser(server.url);
  const started = await presenterPage.present('p', presenter.token, 'bench');
  if (!started.ok) throw new Error(`go live failed: ${JSON.stringify(started)}`);
  await waitFor(async () => (await presenterPage.stats('p')).framesDecoded > 0, 'the preview', { timeoutMs: 30_000 });

  const times: number[] = [];
  for (let i = 0; i < joins; i++) {
    const key = `v${i}`;
    const watched = await viewerPage.watch(key, viewer.token, started.liveId);
    if (!watched.ok) throw new Error(`watch failed: ${JSON.stringify(watched)}`);
    const ms = await waitFor(() => viewerPage.firstFrameMs(key), `first frame of join ${i}`, {
      timeoutMs: 30_000,
      intervalMs: 5,
    });
    times.push(ms);
    const marks = await viewerPage.marks(key);
    console.log(
      `join ${String(i + 1).padStart(2)}: ${ms.toFixed(0)} ms   (${Object.entries(marks)
        .sort((a, b) => a[1] - b[1])
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')})`,
    );
    await viewerPage.leave(key);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  const result = {
    bench: 'join',
    joins,
    p50Ms: Math.round(pct(50)),
    p95Ms: Math.round(pct(95)),
    minMs: Math.round(sorted[0]!),
    maxMs: Math.round(sorted.at(-1)!),
    targetP50Ms: 300,
  };
  console.log(
    `\nwatch → first frame over ${joins} joins: p50 ${result.p50Ms} ms, p95 ${result.p95Ms} ms (min ${result.minMs}, max ${result.maxMs}; target p50 < 300 ms)`,
  );
  await presenterPage.stop('p');
  await context.close();
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
  await scratch.close();
}

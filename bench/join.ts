/**
 * bench:join: time from a viewer's "watch" to its first video packet and first rendered frame, through the whole
 * stack (Chromium, socket.io, the live layer, kurento-client, the embedded engine). One presenter; N viewers join
 * one after the other (each leaves before the next), then, with `--at-once M`, M viewers join at the same moment.
 * Prints each join, p50/p95 of first frame, first packet and DTLS→first frame, the load average, and as its last line
 * one JSON object. Needs Chromium; uses a temporary SQLite database and the in-process store.
 * Usage: npm run bench:join [-- N] [--at-once M]   (N = 20 by default; M = 0: no simultaneous round)
 */
import os from 'node:os';
import { launchBrowser, newContext } from '../drivers/browser.js';
import { openHarness, type Harness } from '../drivers/harness.js';
import { registerUser } from '../drivers/http.js';
import { waitFor } from '../drivers/wait.js';
import { positiveArg } from './proc.js';
import { startScratchServer } from './scratchServer.js';

const args = process.argv.slice(2);
const atOnceAt = args.indexOf('--at-once');
const atOnce = atOnceAt >= 0 ? Math.round(positiveArg('bench:join', 'at-once', args[atOnceAt + 1] ?? '', 500)) : 0;
const positional = args.filter((_, i) => atOnceAt < 0 || (i !== atOnceAt && i !== atOnceAt + 1));
const joins = positional[0] === undefined ? 20 : Number(positional[0]);
/** Viewers of the simultaneous round per Chromium page. */
const PER_PAGE = 50;
const TARGETS = { p50Ms: 200, p95Ms: 300, atOnceFirstPacketP50Ms: 500 };

interface Figures {
  n: number;
  p50Ms: number;
  p95Ms: number;
  minMs: number;
  maxMs: number;
}

function figures(values: number[]): Figures {
  const sorted = [...values].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
  return {
    n: sorted.length,
    p50Ms: Math.round(pct(50)),
    p95Ms: Math.round(pct(95)),
    minMs: Math.round(sorted[0] ?? NaN),
    maxMs: Math.round(sorted.at(-1) ?? NaN),
  };
}

const line = (what: string, f: Figures) =>
  `${what.padEnd(28)} p50 ${String(f.p50Ms).padStart(5)} ms, p95 ${String(f.p95Ms).padStart(5)} ms (min ${f.minMs}, max ${f.maxMs}, n ${f.n})`;

const load = () => os.loadavg().map((l) => Number(l.toFixed(2)));

/** A viewer's figures once its first frame was rendered. */
async function joined(page: Harness, key: string) {
  const frameMs = await waitFor(() => page.firstFrameMs(key), `first frame of ${key}`, {
    timeoutMs: 60_000,
    intervalMs: 5,
  });
  const marks = await page.marks(key);
  return { frameMs, marks };
}

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

  const loadBefore = load();
  const frame: number[] = [];
  const packet: number[] = [];
  const dtlsToFrame: number[] = [];
  for (let i = 0; i < joins; i++) {
    const key = `v${i}`;
    const watched = await viewerPage.watch(key, viewer.token, started.liveId);
    if (!watched.ok) throw new Error(`watch failed: ${JSON.stringify(watched)}`);
    const { frameMs, marks } = await joined(viewerPage, key);
    frame.push(frameMs);
    if (marks.firstPacket !== undefined) packet.push(marks.firstPacket);
    if (marks.dtlsConnected !== undefined && marks.firstFrame !== undefined)
      dtlsToFrame.push(marks.firstFrame - marks.dtlsConnected);
    console.log(
      `join ${String(i + 1).padStart(2)}: ${frameMs.toFixed(0)} ms   (${Object.entries(marks)
        .sort((a, b) => a[1] - b[1])
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')})`,
    );
    await viewerPage.leave(key);
  }
  const sequential = { frame: figures(frame), firstPacket: figures(packet), dtlsToFrame: figures(dtlsToFrame) };
  const loadSequential = load();
  console.log(`\none after the other, ${joins} joins (load average before ${loadBefore.join(' ')}):`);
  console.log(line('watch → first frame', sequential.frame));
  console.log(line('watch → first packet', sequential.firstPacket));
  console.log(line('DTLS up → first frame', sequential.dtlsToFrame));
  console.log(`  targets: first frame p50 ≤ ${TARGETS.p50Ms} ms, p95 ≤ ${TARGETS.p95Ms} ms`);

  let simultaneous:
    | { frame: Figures; firstPacket: Figures; dtlsToFrame: Figures; failures: Record<string, number>; load: number[] }
    | undefined;
  if (atOnce > 0) {
    const pages: Harness[] = [];
    for (let i = 0; i < Math.ceil(atOnce / PER_PAGE); i++) pages.push(await openHarness(context, server.url));
    // One account per viewer: an account may hold only SOCKETS_PER_ACCOUNT sockets.
    const users: Awaited<ReturnType<typeof registerUser>>[] = [];
    for (let i = 0; i < atOnce; i++) users.push(await registerUser(server.url));
    const keys = Array.from({ length: atOnce }, (_, i) => ({ page: i % pages.length, key: `a${i}`, user: users[i]! }));
    // A join that fails (refused, or not set up within the timeout) is counted, not fatal: it is a result.
    const settled = await Promise.all(
      keys.map(async ({ page, key, user }) => {
        try {
          const watched = await pages[page]!.watch(key, user.token, started.liveId);
          if (!watched.ok) return { key, page, error: watched.error.code };
          return { key, page, ...(await joined(pages[page]!, key)) };
        } catch (error) {
          return { key, page, error: String(error).slice(0, 80) };
        }
      }),
    );
    const results = settled.flatMap((r) => ('frameMs' in r ? [r] : []));
    const failures: Record<string, number> = {};
    for (const r of settled) if ('error' in r && r.error) failures[r.error] = (failures[r.error] ?? 0) + 1;
    simultaneous = {
      frame: figures(results.map((r) => r.frameMs)),
      firstPacket: figures(results.flatMap((r) => (r.marks.firstPacket === undefined ? [] : [r.marks.firstPacket]))),
      dtlsToFrame: figures(
        results.flatMap((r) =>
          r.marks.dtlsConnected === undefined || r.marks.firstFrame === undefined
            ? []
            : [r.marks.firstFrame - r.marks.dtlsConnected],
        ),
      ),
      failures,
      load: load(),
    };
    console.log(`\n${atOnce} joining at once (load average after ${simultaneous.load.join(' ')}):`);
    console.log(line('watch → first frame', simultaneous.frame));
    console.log(line('watch → first packet', simultaneous.firstPacket));
    console.log(line('DTLS up → first frame', simultaneous.dtlsToFrame));
    console.log(`  failed joins: ${JSON.stringify(failures)}`);
    console.log(`  target: first packet p50 ≤ ${TARGETS.atOnceFirstPacketP50Ms} ms`);
    for (const r of results) await pages[r.page]!.leave(r.key).catch(() => undefined);
  }

  await presenterPage.stop('p');
  await context.close();
  console.log(
    JSON.stringify({
      bench: 'join',
      joins,
      p50Ms: sequential.frame.p50Ms,
      p95Ms: sequential.frame.p95Ms,
      minMs: sequential.frame.minMs,
      maxMs: sequential.frame.maxMs,
      firstPacket: sequential.firstPacket,
      dtlsToFrame: sequential.dtlsToFrame,
      loadAverage: loadSequential,
      atOnce: simultaneous ? { viewers: atOnce, ...simultaneous } : null,
      targets: TARGETS,
    }),
  );
} finally {
  await browser.close();
  await scratch.close();
}

/**
 * bench/whip.ts: WHIP ingest and WHEP playback through the whole stack (HTTP, stream keys, the live layer,
 * kurento-client, the embedded engine), with werift peers as the encoder and the player (no browser):
 * - POST /whip → 201 with a gathered answer (the encoder's offer is gathered before the clock starts);
 * - publish → first frame: from that POST to the first whole VP8 keyframe at a WHEP player that POSTs /whep as
 *   soon as the live is on air;
 * - DELETE → every pipeline released.
 * Publishes one after the other; prints each, p50/p95, and as its last line one JSON object.
 * Needs ffmpeg (the clip); uses a temporary SQLite database and the in-process store.
 * Usage: npm run bench:whip [-- N] (default 20). Targets (issue 15): 201 at p50 ≤ 300 ms, first frame ≤ 1 s.
 */
import { makeClip, readClip } from '../smoke/media.js';
import { registerUser } from '../drivers/http.js';
import { waitFor } from '../drivers/wait.js';
import { startScratchServer } from './scratchServer.js';
import { WhipPeer } from '../drivers/whip.js';

const publishes = Number(process.argv[2] ?? 20);
const scratch = await startScratchServer('whip');
const { server, dir } = scratch;
const pipelines = () => scratch.pipelines();
const answerMs: number[] = [];
const firstFrameMs: number[] = [];
const releaseMs: number[] = [];
try {
  const clip = await readClip(await makeClip(dir));
  const presenter = await registerUser(server.url);
  const viewer = await registerUser(server.url);
  const created = await presenter.client.post('/api/stream-keys', { name: 'bench' });
  if (created.status !== 201) throw new Error(`creating a stream key failed: ${created.text}`);
  const key = created.body.key as string;
  const baseline = await pipelines();
  for (let i = 0; i < publishes; i++) {
    const publisher = WhipPeer.publisher(clip);
    const player = WhipPeer.player();
    try {
      const offer = await publisher.gatheredOffer();
      const t0 = performance.now();
      const response = await fetch(`${server.url}/whip`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/sdp' },
        body: offer,
      });
      const answer = await response.text();
      answerMs.push(performance.now() - t0);
      if (response.status !== 201) throw new Error(`POST /whip answered ${response.status}: ${answer}`);
      const location = new URL(response.headers.get('location')!, server.url).href;
      await publisher.pc.setRemoteDescription({ type: 'answer', sdp: answer });
      publisher.start();
      const liveId = await waitFor(
        async () => (await viewer.client.get('/api/lives')).body.lives[0]?.id as string | undefined,
        'the live on air',
        { intervalMs: 2 },
      );
      const played = await player.connect(`${server.url}/whep/${liveId}`, viewer.token);
      if (played.status !== 201) throw new Error(`POST /whep answered ${played.status}: ${played.text}`);
      await waitFor(() => player.received.keyframe, 'a keyframe at the WHEP player', {
        timeoutMs: 30_000,
        intervalMs: 2,
      });
      firstFrameMs.push(performance.now() - t0);

      await player.hangUp();
      const t2 = performance.now();
      await fetch(location, { method: 'DELETE' });
      await waitFor(async () => (await pipelines()) === baseline, 'pipelines released', { intervalMs: 5 });
      releaseMs.push(performance.now() - t2);
      console.log(
        `publish ${String(i + 1).padStart(2)}: POST → 201 ${answerMs.at(-1)!.toFixed(0)} ms, publish → first frame at a WHEP player ${firstFrameMs.at(-1)!.toFixed(0)} ms, DELETE → released ${releaseMs.at(-1)!.toFixed(0)} ms`,
      );
    } finally {
      await Promise.all([publisher.close(), player.close()]);
    }
  }
  const figures = {
    bench: 'whip',
    publishes,
    answerP50Ms: pct(answerMs, 50),
    answerP95Ms: pct(answerMs, 95),
    firstFrameP50Ms: pct(firstFrameMs, 50),
    firstFrameP95Ms: pct(firstFrameMs, 95),
    releaseP50Ms: pct(releaseMs, 50),
  };
  console.log(
    `POST → 201 p50 ${figures.answerP50Ms} ms, p95 ${figures.answerP95Ms} ms; publish → first frame p50 ${figures.firstFrameP50Ms} ms, p95 ${figures.firstFrameP95Ms} ms; DELETE → released p50 ${figures.releaseP50Ms} ms`,
  );
  console.log(JSON.stringify(figures));
} finally {
  await scratch.close();
}

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0);
}

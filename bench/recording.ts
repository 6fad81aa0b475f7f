/**
 * Recording benchmark: the CPU a WebmRecorder costs per second of media, the time stop() takes to finish a long
 * file (duration, cues, SeekHead written in place), and the time WebmPlayer.open() takes on it.
 * A clip (default 5 minutes, 640x480 VP8 ~500 kbps + Opus) is made with ffmpeg, packetised as the player would
 * and fed to the recorder as fast as it takes it, on a simulated clock.
 * Usage: npx tsx bench/recording.ts [minutes]   (last output line: one JSON object)
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { EncodedPacketSink, FilePathSource, Input, WEBM, type EncodedPacket } from 'mediabunny';
import { RtpPacketizer } from '../media/engine/recording/RtpPacketizer.js';
import { WebmPlayer } from '../media/engine/recording/WebmPlayer.js';
import { WebmRecorder } from '../media/engine/recording/WebmRecorder.js';
import type { TrackInfo } from '../media/engine/recording/types.js';

const minutes = Number(process.argv[2] ?? 5);
const dir = await mkdtemp(path.join(tmpdir(), 'onair-bench-recording-'));
try {
  const clip = path.join(dir, 'clip.webm');
  await promisify(execFile)('ffmpeg', [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=640x480:rate=20',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440',
    '-t',
    String(minutes * 60),
    '-c:v',
    'libvpx',
    '-deadline',
    'realtime',
    '-cpu-used',
    '8',
    '-b:v',
    '500k',
    '-g',
    '200',
    '-c:a',
    'libopus',
    clip,
  ]);

  // Every packet of the clip as RTP, in timeline order, with its media time.
  const input = new Input({ source: new FilePathSource(clip), formats: [WEBM] });
  const feed: { atMs: number; packets: ReturnType<RtpPacketizer['packetize']>; track: TrackInfo }[] = [];
  for (const inputTrack of await input.getTracks()) {
    const track: TrackInfo = inputTrack.isVideoTrack()
      ? { kind: 'video', codec: 'VP8', clockRate: 90_000 }
      : { kind: 'audio', codec: 'OPUS', clockRate: 48_000 };
    const packetizer = new RtpPacketizer(track, { maxPayload: 1200 });
    for await (const packet of new EncodedPacketSink(inputTrack).packets() as AsyncGenerator<EncodedPacket>) {
      const atMs = packet.timestamp * 1000;
      feed.push({
        atMs,
        track,
        packets: packetizer.packetize(packet.data, packetizer.timestampAt(atMs), packet.type === 'key'),
      });
    }
  }
  input.dispose();
  feed.sort((a, b) => a.atMs - b.atMs);
  const rtpPackets = feed.reduce((sum, item) => sum + item.packets.length, 0);

  let now = 0;
  const output = path.join(dir, 'recorded.webm');
  const recorder = new WebmRecorder({
    path: output,
    profile: 'WEBM',
    requestKeyframe: () => undefined,
    now: () => now,
  });
  await recorder.start();
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  let yieldedAt = 0;
  for (const { atMs, packets, track } of feed) {
    now = atMs;
    for (const packet of packets) recorder.writeRtp(packet, track);
    if (atMs - yieldedAt >= 1000) {
      yieldedAt = atMs;
      await new Promise((resolve) => setImmediate(resolve)); // let the file writes run, as they would live
    }
  }
  const cpu = process.cpuUsage(cpuBefore);
  const feedMs = performance.now() - wallBefore;
  await new Promise((resolve) => setTimeout(resolve, 500)); // the steady state of a live recording
  const stopBefore = performance.now();
  const result = await recorder.stop();
  const stopMs = performance.now() - stopBefore;
  const openBefore = performance.now();
  const player = await WebmPlayer.open(output);
  const openMs = performance.now() - openBefore;
  player.close();

  const mediaSeconds = result.durationMs / 1000;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const row = {
    bench: 'recording',
    mediaSeconds: Math.round(mediaSeconds),
    bytes: (await stat(output)).size,
    rtpPackets,
    feedMs: Math.round(feedMs),
    cpuPercentOfCorePerRecording: Number(((cpuMs / (mediaSeconds * 1000)) * 100).toFixed(3)),
    microsecondsPerPacket: Number(((cpuMs * 1000) / rtpPackets).toFixed(2)),
    stopMs: Math.round(stopMs),
    playerOpenMs: Math.round(openMs),
  };
  console.log(`recorded ${row.mediaSeconds} s (${(row.bytes / 1e6).toFixed(1)} MB, ${rtpPackets} RTP packets)`);
  console.log(
    `recorder CPU: ${row.cpuPercentOfCorePerRecording} % of a core per live recording, ${row.microsecondsPerPacket} µs per packet`,
  );
  console.log(`stop() (finish in place): ${row.stopMs} ms; WebmPlayer.open(): ${row.playerOpenMs} ms`);
  console.log(JSON.stringify(row));
} finally {
  await rm(dir, { recursive: true, force: true });
}

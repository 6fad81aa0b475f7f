/**
 * Where a WebmRecorder puts its tracks on the file's timeline, on a clock the test drives: by the sender reports
 * that come with the packets (TrackInfo.senderReport) once every track has one, by arrival without them; audio
 * captured just before the first video keyframe starts the file; Opus is always labelled 2 channels.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { RtpPacketizer } from '../../media/engine/recording/RtpPacketizer.js';
import { WebmRecorder } from '../../media/engine/recording/WebmRecorder.js';
import type { MediaKind, SenderReport, TrackInfo } from '../../media/engine/recording/types.js';
import { readClip, type Clip } from '../../smoke/media.js';
import { skipUnless } from '../support/services.js';
import { makeClip, probePackets } from './helpers/webmFiles.js';

const run = promisify(execFile);
/** An arbitrary sender NTP time (ms since 1900) for capture time 0. */
const NTP_AT_ZERO_MS = 3_970_000_000_000;

interface FeedOptions {
  /** Per kind: how much later than its capture time a frame arrives (ms). */
  lateMs?: Partial<Record<MediaKind, number>>;
  /** Per kind: what the sender reports add to the true capture time (ms); no reports for a kind left out. */
  reportShiftMs?: Partial<Record<MediaKind, number>>;
  /** Per kind: frames captured before this are not sent (ms). */
  fromMs?: Partial<Record<MediaKind, number>>;
  /** Video capture times are shifted by this (ms): audio captured before the first video frame. */
  videoStartMs?: number;
  /** The first frames arrive this much later, less and less over a path that settles (1 ms per 10 ms). */
  settlingMs?: number;
}

/**
 * Records the clip as it would arrive over the network, on a simulated clock: every frame as RTP at its arrival
 * time, with a sender report (every 500 ms of capture, from the first packet on) in its TrackInfo.
 */
async function recordFeed(clip: Clip, file: string, options: FeedOptions = {}): Promise<void> {
  const events: { atMs: number; kind: MediaKind; captureMs: number; data: Uint8Array; key: boolean }[] = [];
  for (const kind of ['video', 'audio'] as const) {
    const shift = kind === 'video' ? (options.videoStartMs ?? 0) : 0;
    for (const frame of clip[kind]) {
      const captureMs = frame.ms + shift;
      if (captureMs < (options.fromMs?.[kind] ?? -Infinity)) continue;
      const settlingMs = Math.max(0, (options.settlingMs ?? 0) - captureMs / 10);
      events.push({
        atMs: captureMs + (options.lateMs?.[kind] ?? 0) + settlingMs,
        kind,
        captureMs,
        data: frame.data,
        key: frame.key,
      });
    }
  }
  events.sort((a, b) => a.atMs - b.atMs);
  const tracks: Record<MediaKind, TrackInfo> = {
    video: { kind: 'video', codec: 'VP8', clockRate: 90_000 },
    audio: { kind: 'audio', codec: 'OPUS', clockRate: 48_000 },
  };
  const packetizers = {
    video: new RtpPacketizer(tracks.video, { maxPayload: 1200 }),
    audio: new RtpPacketizer(tracks.audio, { maxPayload: 1200 }),
  };
  const reportedAt: Partial<Record<MediaKind, number>> = {};
  let now = 0;
  const recorder = new WebmRecorder({ path: file, profile: 'WEBM', requestKeyframe: () => undefined, now: () => now });
  await recorder.start();
  for (const { atMs, kind, captureMs, data, key } of events) {
    now = atMs;
    const packetizer = packetizers[kind];
    for (const packet of packetizer.packetize(data, packetizer.timestampAt(captureMs), key))
      recorder.writeRtp(packet, tracks[kind]);
    // A report follows the track's first packet, then one every 500 ms; the next packets carry it.
    const shift = options.reportShiftMs?.[kind];
    const last = reportedAt[kind];
    if (shift === undefined || (last !== undefined && captureMs - last < 500)) continue;
    const senderReport: SenderReport = {
      ssrc: packetizer.ssrc,
      ntpMs: NTP_AT_ZERO_MS + captureMs + shift,
      rtpTimestamp: packetizer.timestampAt(captureMs),
    };
    tracks[kind] = { ...tracks[kind], senderReport };
    reportedAt[kind] = captureMs;
  }
  await recorder.stop();
}

async function audioChannels(file: string): Promise<number> {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-select_streams', 'a', '-show_entries', 'stream=channels', '-of', 'csv=p=0', file],
  ]);
  return Number(stdout.trim());
}

/** First and last packet times (ms) of a stream of the file. */
async function span(file: string, stream: 'a' | 'v'): Promise<{ firstMs: number; endMs: number }> {
  const packets = await probePackets(file, stream);
  const last = packets.at(-1)!;
  return { firstMs: Math.round(packets[0]!.pts * 1000), endMs: Math.round((last.pts + last.duration) * 1000) };
}

describe('WebmRecorder timeline', { skip: skipUnless('ffmpeg') }, () => {
  let dir: string;
  let clip: Clip;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'onair-recorder-timeline-'));
    // 20 fps (readClip's pace), one keyframe per second, mono Opus (a 440 Hz tone).
    clip = await readClip(await makeClip(dir, 'clip.webm', { seconds: 4, fps: 20 }));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('audio arriving 1 s after its video is placed by the sender reports once both tracks have them', async () => {
    const file = path.join(dir, 'reports.webm');
    await recordFeed(clip, file, { lateMs: { audio: 1000 }, reportShiftMs: { video: 0, audio: 0 } });
    const audio = await span(file, 'a');
    const video = await span(file, 'v');
    // Audio captured with the first video frame is at the file's start, and both tracks end together.
    assert.ok(
      Math.abs(audio.firstMs - video.firstMs) <= 30,
      `audio from ${audio.firstMs} ms, video from ${video.firstMs} ms`,
    );
    assert.ok(Math.abs(audio.endMs - video.endMs) <= 60, `audio to ${audio.endMs} ms, video to ${video.endMs} ms`);
  });

  test('reports that disagree with the arrival win: audio said to be captured 500 ms later is recorded 500 ms later', async () => {
    const file = path.join(dir, 'later.webm');
    await recordFeed(clip, file, { reportShiftMs: { video: 0, audio: 500 } });
    const audio = await span(file, 'a');
    const video = await span(file, 'v');
    assert.ok(
      Math.abs(audio.endMs - video.endMs - 500) <= 60,
      `audio to ${audio.endMs} ms, video to ${video.endMs} ms`,
    );
  });

  test('without sender reports the tracks stay where they arrive', async () => {
    const file = path.join(dir, 'arrival.webm');
    await recordFeed(clip, file, { lateMs: { audio: 1000 } });
    const audio = await span(file, 'a');
    const video = await span(file, 'v');
    assert.ok(
      Math.abs(audio.firstMs - video.firstMs - 1000) <= 30,
      `audio from ${audio.firstMs} ms, video from ${video.firstMs} ms`,
    );
    assert.ok(
      Math.abs(audio.endMs - video.endMs - 1000) <= 60,
      `audio to ${audio.endMs} ms, video to ${video.endMs} ms`,
    );
  });

  test('audio captured before the first video frame is kept: the file starts with it', async () => {
    const file = path.join(dir, 'early-audio.webm');
    await recordFeed(clip, file, { videoStartMs: 300, settlingMs: 20 });
    const audio = await span(file, 'a');
    const video = await span(file, 'v');
    assert.ok(audio.firstMs <= 5, `audio from ${audio.firstMs} ms`);
    assert.ok(Math.abs(video.firstMs - 300) <= 25, `video from ${video.firstMs} ms`);
    // It keeps its own clock's spacing (20 ms frames), however its first packets' arrival varied.
    const early = (await probePackets(file, 'a')).filter((packet) => packet.pts * 1000 < video.firstMs + 100);
    const steps = early.slice(1).map((packet, i) => Math.round((packet.pts - early[i]!.pts) * 1000));
    assert.ok(
      steps.every((step) => step >= 19 && step <= 21),
      `audio frame steps: ${steps.join(' ')}`,
    );
  });

  test('Opus is labelled 2 channels whether its audio starts before or after the first video frame', async () => {
    const before = path.join(dir, 'channels-before.webm');
    const after = path.join(dir, 'channels-after.webm');
    await recordFeed(clip, before, { videoStartMs: 300 });
    await recordFeed(clip, after, { fromMs: { audio: 1000 } });
    assert.equal(await audioChannels(before), 2, 'audio before the video');
    assert.equal(await audioChannels(after), 2, 'audio after the video');
  });
});

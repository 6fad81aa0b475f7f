import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ALL_FORMATS, FilePathSource, Input } from 'mediabunny';
import type { RtpPacket } from 'werift';
import { WebmPlayer } from '../../media/engine/recording/WebmPlayer.js';
import { WebmRecorder } from '../../media/engine/recording/WebmRecorder.js';
import { InvalidStateError, MediaFileError, UnsupportedError } from '../../media/engine/recording/errors.js';
import type { RecordingProfile, RecordingResult, TrackInfo } from '../../media/engine/recording/types.js';
import { launchBrowser } from '../../drivers/browser.js';
import { skipUnless } from '../support/services.js';
import { coverage, decode, largestGap, makeClip, probeFile, probePackets, webmLayout } from './helpers/webmFiles.js';

const skip = skipUnless('ffmpeg');
const CLIP_SECONDS = 5;

interface Capture {
  packet: RtpPacket;
  track: TrackInfo;
  atMs: number;
}

interface Recorded {
  path: string;
  result: RecordingResult;
  keyframeRequests: number;
}

/** A recorder fed by a test, with a count of the keyframes it asked for. */
function recorderFor(file: string, profile: RecordingProfile, now?: () => number) {
  const state = { keyframeRequests: 0 };
  const recorder = new WebmRecorder({
    path: file,
    profile,
    requestKeyframe: () => state.keyframeRequests++,
    ...(now ? { now } : {}),
  });
  return { recorder, state };
}

/** A deterministic pseudo-random sequence in [0, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** After a clean first second, drops about 3 % of packets and delivers about 10 % two packets late. */
function lossyReordering(deliver: (packet: RtpPacket, track: TrackInfo) => void) {
  const next = random(7);
  const late: { packet: RtpPacket; track: TrackInfo; after: number }[] = [];
  let clean = 0;
  return (packet: RtpPacket, track: TrackInfo) => {
    if (track.kind === 'audio') clean++;
    const roll = clean <= 50 ? 1 : next();
    if (roll < 0.03) return;
    if (roll < 0.13) late.push({ packet, track, after: 2 });
    else deliver(packet, track);
    for (const held of [...late]) {
      if (held.track.kind !== track.kind || --held.after > 0) continue;
      late.splice(late.indexOf(held), 1);
      deliver(held.packet, held.track);
    }
  };
}

/** Shifts RTP timestamps and sequence numbers so that both wrap about a second into the clip. */
function wrapping(deliver: (packet: RtpPacket, track: TrackInfo) => void) {
  const shifts = new Map<string, { timestamp: number; sequence: number }>();
  return (packet: RtpPacket, track: TrackInfo) => {
    let shift = shifts.get(track.kind);
    if (!shift) {
      const perSecond = track.kind === 'video' ? 60 : 50;
      shift = {
        timestamp: (2 ** 32 - track.clockRate - packet.header.timestamp + 2 ** 32) % 2 ** 32,
        sequence: (0x10000 - perSecond - packet.header.sequenceNumber + 0x10000) & 0xffff,
      };
      shifts.set(track.kind, shift);
    }
    const copy = packet.clone();
    copy.header.timestamp = (packet.header.timestamp + shift.timestamp) % 2 ** 32;
    copy.header.sequenceNumber = (packet.header.sequenceNumber + shift.sequence) & 0xffff;
    deliver(copy, track);
  };
}

/**
 * A presenter that drops and comes back on a new endpoint: from audio packet 100 (2 s in), 1 s of media is lost,
 * then every packet comes from a new source (another SSRC, RTP timestamps 10 s behind, other sequence numbers).
 */
function switchingSource(deliver: (packet: RtpPacket, track: TrackInfo) => void) {
  let audioPackets = 0;
  return (packet: RtpPacket, track: TrackInfo) => {
    if (track.kind === 'audio') audioPackets++;
    if (audioPackets < 100) return deliver(packet, track);
    if (audioPackets < 150) return;
    const copy = packet.clone();
    copy.header.ssrc = (packet.header.ssrc + 0x1234) >>> 0;
    copy.header.timestamp = (packet.header.timestamp - 10 * track.clockRate + 2 ** 32) % 2 ** 32;
    copy.header.sequenceNumber = (packet.header.sequenceNumber + 20_000) & 0xffff;
    deliver(copy, track);
  };
}

describe('WebmRecorder', { skip }, () => {
  let dir: string;
  let clip: string;
  let played: WebmPlayer;
  const captured: Capture[] = [];
  const files: Record<'webm' | 'audioOnly' | 'videoOnly' | 'lossy' | 'wrapped' | 'paused' | 'switched', Recorded> =
    {} as never;
  let pausedForMs = 0;
  const recorderErrors: Error[] = [];

  // One real-time play-through of the clip feeds every recorder below at once (and is captured for replays).
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'onair-recorder-'));
    clip = await makeClip(dir, 'clip.webm', { seconds: CLIP_SECONDS });
    played = await WebmPlayer.open(clip);
    const setups = {
      webm: recorderFor(path.join(dir, 'webm.webm'), 'WEBM'),
      audioOnly: recorderFor(path.join(dir, 'audio-only.webm'), 'WEBM_AUDIO_ONLY'),
      videoOnly: recorderFor(path.join(dir, 'video-only.webm'), 'WEBM_VIDEO_ONLY'),
      lossy: recorderFor(path.join(dir, 'lossy.webm'), 'WEBM'),
      wrapped: recorderFor(path.join(dir, 'wrapped.webm'), 'WEBM'),
      paused: recorderFor(path.join(dir, 'paused.webm'), 'WEBM'),
      switched: recorderFor(path.join(dir, 'switched.webm'), 'WEBM'),
    };
    for (const { recorder } of Object.values(setups)) {
      recorder.on('error', (error) => recorderErrors.push(error));
      await recorder.start();
    }
    const lossy = lossyReordering((p, t) => setups.lossy.recorder.writeRtp(p, t));
    const wrapped = wrapping((p, t) => setups.wrapped.recorder.writeRtp(p, t));
    const switched = switchingSource((p, t) => setups.switched.recorder.writeRtp(p, t));
    let audioPackets = 0;
    let pausedAt = 0;
    played.on('rtp', (packet, track) => {
      captured.push({ packet: packet.clone(), track, atMs: performance.now() });
      setups.webm.recorder.writeRtp(packet, track);
      setups.audioOnly.recorder.writeRtp(packet, track);
      setups.videoOnly.recorder.writeRtp(packet, track);
      lossy(packet, track);
      wrapped(packet, track);
      switched(packet, track);
      // The paused recorder misses 1.5 s of audio packets (50 per second), counted in media, not in timers.
      if (track.kind === 'audio' && ++audioPackets === 75) {
        setups.paused.recorder.pause();
        pausedAt = packet.header.timestamp;
      }
      if (track.kind === 'audio' && audioPackets === 150) {
        setups.paused.recorder.resume();
        pausedForMs = ((packet.header.timestamp - pausedAt + 2 ** 32) % 2 ** 32) / 48;
      }
      setups.paused.recorder.writeRtp(packet, track);
    });
    const ended = new Promise<void>((resolve) => played.once('end', resolve));
    played.play();
    await ended;
    for (const [name, { recorder, state }] of Object.entries(setups)) {
      const result = await recorder.stop();
      files[name as keyof typeof files] = { path: recorder.path, result, keyframeRequests: state.keyframeRequests };
    }
  });

  after(async () => {
    played?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('records a played clip as VP8 + Opus whose duration matches the played time', async () => {
    const { path: file, result } = files.webm;
    assert.deepEqual(recorderErrors, [], 'no recorder reported an error');
    const probed = await probeFile(file);
    assert.deepEqual(probed.codecs, ['opus', 'vp8']);
    assert.ok(
      Math.abs(probed.duration * 1000 - played.durationMs) <= 500,
      `${probed.duration} s vs ${played.durationMs} ms played`,
    );
    assert.ok(Math.abs(result.durationMs - probed.duration * 1000) <= 1, 'stop() reports the duration written');
    assert.equal(result.bytes, (await stat(file)).size, 'stop() reports the bytes on disk');
    const video = await probePackets(file, 'v');
    assert.ok(video[0]!.key, 'the file starts on a keyframe');
    assert.equal(video.length, CLIP_SECONDS * 20, 'every frame of the clip is there');
    const { code, errors } = await decode(file);
    assert.equal(code, 0);
    assert.equal(errors, '', 'ffmpeg decodes it without a single error');
  });

  test('keeps audio over at least 95 % of the recording, with no hole', async () => {
    const { path: file } = files.webm;
    const { duration } = await probeFile(file);
    const audio = await probePackets(file, 'a');
    assert.ok(coverage(audio, duration) >= 0.95, `audio covers ${(coverage(audio, duration) * 100).toFixed(1)} %`);
    assert.ok(largestGap(audio) < 0.03, `largest audio gap ${largestGap(audio)} s`);
  });

  test('finishes the file so that it can be seeked: duration, cues, and a SeekHead pointing at them', async () => {
    const { path: file } = files.webm;
    const layout = await webmLayout(file);
    assert.equal(layout.docType, 'webm');
    assert.ok(layout.segmentSizeKnown, 'the Segment has its real size');
    assert.equal(layout.clustersWithUnknownSize, 0);
    assert.ok(layout.durationMs !== undefined && layout.durationMs > 4000, `Duration ${layout.durationMs}`);
    assert.ok(layout.cuePoints >= CLIP_SECONDS - 1, `${layout.cuePoints} cue points for a 1 s GOP`);
    assert.deepEqual(layout.seekTargets.sort(), ['Cues', 'Info', 'Tracks']);
    const input = new Input({ source: new FilePathSource(file), formats: ALL_FORMATS });
    try {
      assert.ok(
        Math.abs(((await input.getDurationFromMetadata()) ?? 0) * 1000 - layout.durationMs) < 1,
        'mediabunny reads it',
      );
    } finally {
      input.dispose();
    }
    const seeked = await decode(file, ['-ss', '3.5']);
    assert.equal(seeked.code, 0);
    assert.ok(seeked.frames > 0 && seeked.frames < 40, `decoding from 3.5 s gives ${seeked.frames} frames`);
  });

  test("Chromium reads the finished file's duration and seeks it", { skip: skipUnless('chromium') }, async () => {
    const page = path.join(dir, 'seek.html');
    await writeFile(page, `<video id="v" muted src="${path.basename(files.webm.path)}"></video>`);
    const browser = await launchBrowser();
    try {
      const tab = await browser.newPage();
      await tab.goto(`file://${page}`);
      const seen = await tab.evaluate<{ duration: number; seekableEnd: number; currentTime: number }>(`(async () => {
        const v = document.getElementById('v');
        await new Promise((resolve, reject) => {
          if (v.readyState >= 1) resolve();
          v.onloadedmetadata = resolve;
          v.onerror = () => reject(new Error('video error ' + (v.error && v.error.message)));
        });
        const duration = v.duration;
        const seekableEnd = v.seekable.length ? v.seekable.end(0) : 0;
        const seeked = new Promise((resolve) => v.addEventListener('seeked', resolve, { once: true }));
        v.currentTime = 3.5;
        await seeked;
        return { duration, seekableEnd, currentTime: v.currentTime };
      })()`);
      assert.ok(
        Number.isFinite(seen.duration) && Math.abs(seen.duration * 1000 - files.webm.result.durationMs) < 50,
        `duration ${seen.duration}`,
      );
      assert.equal(seen.seekableEnd, seen.duration, 'seekable to the end');
      assert.ok(Math.abs(seen.currentTime - 3.5) < 0.1, `seeked to ${seen.currentTime}`);
    } finally {
      await browser.close();
    }
  });

  test('pause() then resume() leaves no hole in the timeline', async () => {
    const { path: file } = files.paused;
    const probed = await probeFile(file);
    const expectedMs = played.durationMs - pausedForMs;
    assert.ok(pausedForMs > 1000, `paused for ${pausedForMs} ms of media`);
    assert.ok(Math.abs(probed.duration * 1000 - expectedMs) <= 500, `${probed.duration} s, expected ${expectedMs} ms`);
    const audio = await probePackets(file, 'a');
    assert.ok(largestGap(audio) < 0.05, `largest audio gap ${largestGap(audio)} s`);
    const video = await probePackets(file, 'v');
    assert.ok(
      video.some((p) => p.key && p.pts > 1.5),
      'video resumes on a keyframe after the pause',
    );
    assert.ok(files.paused.keyframeRequests >= 2, 'it asks for a keyframe to resume on');
    assert.equal((await decode(file)).errors, '');
  });

  test('WEBM_AUDIO_ONLY records only Opus and WEBM_VIDEO_ONLY only VP8', async () => {
    const audioOnly = await probeFile(files.audioOnly.path);
    const videoOnly = await probeFile(files.videoOnly.path);
    assert.deepEqual(audioOnly.codecs, ['opus']);
    assert.deepEqual(videoOnly.codecs, ['vp8']);
    for (const { duration } of [audioOnly, videoOnly])
      assert.ok(Math.abs(duration * 1000 - played.durationMs) <= 500, `${duration} s`);
    assert.ok((await webmLayout(files.audioOnly.path)).cuePoints >= 2, 'an audio-only file gets cues too');
    assert.equal(files.audioOnly.keyframeRequests, 0, 'an audio-only recorder never asks for keyframes');
  });

  test('lossy and reordered RTP still records a file that decodes without errors', async () => {
    const { path: file, keyframeRequests } = files.lossy;
    const probed = await probeFile(file);
    assert.deepEqual(probed.codecs, ['opus', 'vp8']);
    assert.ok(Math.abs(probed.duration * 1000 - played.durationMs) <= 500, `${probed.duration} s`);
    const audio = await probePackets(file, 'a');
    assert.ok(coverage(audio, probed.duration) >= 0.9, `audio covers ${coverage(audio, probed.duration)}`);
    const video = await probePackets(file, 'v');
    assert.ok(video.length >= 20, `${video.length} video frames survive`);
    assert.ok(keyframeRequests > 1, 'loss makes it ask for keyframes');
    const { code, errors } = await decode(file);
    assert.equal(code, 0);
    assert.equal(errors, '', 'no broken frame was written');
  });

  test('RTP timestamps and sequence numbers that wrap keep one continuous timeline', async () => {
    const { path: file } = files.wrapped;
    const probed = await probeFile(file);
    assert.ok(Math.abs(probed.duration * 1000 - played.durationMs) <= 500, `${probed.duration} s`);
    assert.equal((await probePackets(file, 'v')).length, CLIP_SECONDS * 20);
    assert.ok(largestGap(await probePackets(file, 'a')) < 0.03);
  });

  test('a new source mid-recording (new SSRC, RTP time going backwards) continues the file: monotonic, playable', async () => {
    const { path: file } = files.switched;
    const probed = await probeFile(file);
    assert.deepEqual(probed.codecs, ['opus', 'vp8']);
    // The second of media lost between the two sources is a hole in the timeline, not a jump back or a squeeze.
    assert.ok(Math.abs(probed.duration * 1000 - played.durationMs) <= 500, `${probed.duration} s`);
    for (const stream of ['a', 'v'] as const) {
      const packets = await probePackets(file, stream);
      for (let i = 1; i < packets.length; i++)
        assert.ok(
          packets[i]!.pts > packets[i - 1]!.pts,
          `${stream} pts ${packets[i]!.pts} after ${packets[i - 1]!.pts}`,
        );
      assert.ok(
        packets.some((p) => p.pts > 3.5),
        `${stream} goes on after the switch`,
      );
    }
    const video = await probePackets(file, 'v');
    assert.ok(
      video.some((p) => p.key && p.pts >= 2.9),
      'video resumes on a keyframe of the new source',
    );
    assert.ok(largestGap(await probePackets(file, 'a')) >= 0.8, 'the lost second stays a hole');
    assert.equal((await decode(file)).errors, '');
  });

  test('close() releases the file without finishing it, and is idempotent', async () => {
    const sub = await mkdtemp(path.join(dir, 'close-'));
    const file = path.join(sub, 'closed.webm');
    let now = 0;
    const { recorder } = recorderFor(file, 'WEBM', () => now);
    await recorder.start();
    const start = captured[0]!.atMs;
    for (const { packet, track, atMs } of captured) {
      if (atMs - start > 2500) break;
      now = atMs - start;
      recorder.writeRtp(packet, track);
    }
    recorder.close();
    recorder.close();
    await assert.rejects(recorder.stop(), InvalidStateError);
    await waitFor(async () => (await decode(file)).frames > 20);
    const layout = await webmLayout(file);
    assert.equal(layout.durationMs, undefined, 'no duration was written');
    assert.equal(layout.cuePoints, 0, 'no cues were written');
    assert.deepEqual(await readdir(sub), ['closed.webm'], 'nothing but the given path was written');
  });

  test('stop() is idempotent and a second record() is refused', async () => {
    let now = 0;
    const file = path.join(dir, 'twice.webm');
    const { recorder } = recorderFor(file, 'WEBM', () => now);
    await recorder.start();
    const start = captured[0]!.atMs;
    for (const { packet, track, atMs } of captured.slice(0, 200)) {
      now = atMs - start;
      recorder.writeRtp(packet, track);
    }
    const [first, second] = await Promise.all([recorder.stop(), recorder.stop()]);
    assert.deepEqual(first, second);
    assert.equal(first.bytes, (await stat(file)).size);
    await assert.rejects(recorder.start(), InvalidStateError);
  });

  test('asks for a keyframe when none came for keyframeIntervalMs, so that seeking finds one nearby', async () => {
    const requests: Record<string, number> = {};
    for (const keyframeIntervalMs of [0, 400]) {
      let now = 0;
      let asked = 0;
      const recorder = new WebmRecorder({
        path: path.join(dir, `keyframes-${keyframeIntervalMs}.webm`),
        profile: 'WEBM',
        requestKeyframe: () => asked++,
        keyframeIntervalMs,
        now: () => now,
      });
      await recorder.start();
      const start = captured[0]!.atMs;
      for (const { packet, track, atMs } of captured) {
        now = atMs - start;
        recorder.writeRtp(packet, track);
      }
      await recorder.stop();
      requests[keyframeIntervalMs] = asked;
    }
    assert.equal(requests[0], 1, 'without an interval: once, to start the file');
    assert.ok(requests[400]! >= CLIP_SECONDS - 1, `with 400 ms and a keyframe every second: ${requests[400]} requests`);
  });

  test('H.264 is recorded from its first IDR picture, with its SPS and PPS', async () => {
    const h264 = await makeClip(dir, 'h264.mkv', { seconds: 3, video: 'h264' });
    const player = await WebmPlayer.open(h264);
    const file = path.join(dir, 'h264.webm');
    const { recorder } = recorderFor(file, 'WEBM');
    await recorder.start();
    // Join mid-stream, after the first IDR: the recorder must wait for the next one.
    let frames = 0;
    player.on('rtp', (packet, track) => {
      if (track.kind === 'video' && packet.header.marker) frames++;
      if (frames >= 5) recorder.writeRtp(packet, track);
    });
    const ended = new Promise<void>((resolve) => player.once('end', resolve));
    player.play();
    await ended;
    player.close();
    await recorder.stop();
    const probed = await probeFile(file);
    assert.deepEqual(probed.codecs, ['h264', 'opus']);
    assert.ok(probed.duration > 1.5, `${probed.duration} s`);
    const video = await probePackets(file, 'v');
    assert.ok(video[0]!.key, 'the first H.264 frame is an IDR picture');
    const { code, errors } = await decode(file);
    assert.equal(code, 0);
    assert.equal(errors, '', 'no "non-existing PPS" or other decoding error');
  });

  test('a writer killed with SIGKILL mid-recording leaves a file ffmpeg decodes up to its last cluster', async () => {
    const file = path.join(dir, 'killed.webm');
    const script = path.join(import.meta.dirname, 'helpers', 'recordUntilKilled.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', script, clip, file], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
      child.once('exit', (code, signal) => resolve(signal ?? code)),
    );
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          const last = /recorded (\d+)\n$/.exec(chunk.toString());
          if (last && Number(last[1]) >= 2000) resolve();
        });
        child.once('exit', (code) => reject(new Error(`recorder child exited early (${code})`)));
      });
      child.kill('SIGKILL');
      assert.equal(await exited, 'SIGKILL');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }
    const probed = await probeFile(file);
    assert.deepEqual(probed.codecs, ['opus', 'vp8']);
    const { code, errors, frames } = await decode(file);
    assert.equal(code, 0, errors);
    // A kill in the middle of a write may cut the last block short: ffmpeg says so, and that is all it may say.
    const unexpected = errors.split('\n').filter((line) => line && !/File ended prematurely/.test(line));
    assert.deepEqual(unexpected, [], 'ffmpeg reads the unfinished file without errors');
    assert.ok(frames >= 1.5 * 20, `${frames} frames decoded from a file killed after 2 s`);
  });

  test(
    'a write that fails (disk full) is reported once as an error, and stop() rejects with it',
    { skip: existsSync('/dev/full') ? false : 'no /dev/full' },
    async () => {
      let now = 0;
      const { recorder } = recorderFor('/dev/full', 'WEBM', () => now);
      const errors: Error[] = [];
      recorder.on('error', (error) => errors.push(error));
      await recorder.start();
      const start = captured[0]!.atMs;
      for (const { packet, track, atMs } of captured.slice(0, 300)) {
        now = atMs - start;
        recorder.writeRtp(packet, track);
      }
      await waitFor(async () => errors.length > 0);
      assert.equal(errors.length, 1);
      assert.ok(errors[0] instanceof MediaFileError && /ENOSPC/.test(errors[0].message), errors[0]?.message);
      assert.equal(recorder.state, 'failed');
      await assert.rejects(recorder.stop(), /ENOSPC/);
    },
  );

  test('a profile or a codec it cannot honour is refused with a clear error', async () => {
    assert.throws(
      () =>
        new WebmRecorder({
          path: path.join(dir, 'x.mp4'),
          profile: 'MP4' as RecordingProfile,
          requestKeyframe: () => undefined,
        }),
      (error: Error) =>
        error instanceof UnsupportedError && /"MP4".*WEBM, WEBM_AUDIO_ONLY, WEBM_VIDEO_ONLY/.test(error.message),
    );
    assert.equal(WebmRecorder.supports({ kind: 'video', codec: 'VP9' as 'VP8', clockRate: 90_000 }), false);
    const { recorder } = recorderFor(path.join(dir, 'vp9.webm'), 'WEBM');
    const errors: Error[] = [];
    recorder.on('error', (error) => errors.push(error));
    await recorder.start();
    const vp8 = captured.find((c) => c.track.kind === 'video')!;
    recorder.writeRtp(vp8.packet, { kind: 'video', codec: 'VP9' as 'VP8', clockRate: 90_000 });
    recorder.writeRtp(vp8.packet, { kind: 'video', codec: 'VP9' as 'VP8', clockRate: 90_000 });
    assert.equal(errors.length, 1, 'refused once, then ignored');
    assert.ok(errors[0] instanceof UnsupportedError && /VP9/.test(errors[0].message), errors[0]?.message);
    await recorder.stop();
  });

  test('start() rejects a path it cannot create, naming the path and the reason', async () => {
    const missing = path.join(dir, 'no-such-dir', 'x.webm');
    const { recorder } = recorderFor(missing, 'WEBM');
    await assert.rejects(
      recorder.start(),
      (error: Error) =>
        error instanceof MediaFileError && error.message.includes(missing) && /ENOENT/.test(error.message),
    );
    await assert.rejects(stat(path.dirname(missing)), /ENOENT/, 'no directory was created');
    assert.deepEqual(await recorder.stop(), { durationMs: 0, bytes: 0 });
  });
});

/** Poll a condition until it holds (generous: the machine is shared). */
async function waitFor(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

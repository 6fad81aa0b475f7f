import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RtpPacket } from 'werift';
import { WebmPlayer } from '../../media/engine/recording/WebmPlayer.js';
import { InvalidStateError, MediaFileError } from '../../media/engine/recording/errors.js';
import type { TrackInfo } from '../../media/engine/recording/types.js';
import { skipUnless } from '../support/services.js';
import { makeClip, probePackets } from './helpers/webmFiles.js';

const skip = skipUnless('ffmpeg');
const SECONDS = 3;
const FPS = 20;

interface Sent {
  packet: RtpPacket;
  track: TrackInfo;
  atMs: number;
}

/** Collects what a player sends. */
function listen(player: WebmPlayer) {
  const sent: Sent[] = [];
  player.on('rtp', (packet, track) => sent.push({ packet, track, atMs: performance.now() }));
  const video = () => sent.filter((s) => s.track.kind === 'video').map((s) => s.packet);
  const audio = () => sent.filter((s) => s.track.kind === 'audio').map((s) => s.packet);
  const ended = () => new Promise<void>((resolve) => player.once('end', resolve));
  return { sent, video, audio, ended };
}

/** Resolves once `count` video frames (marker bits) were sent. */
function afterFrames(player: WebmPlayer, count: number): Promise<void> {
  let frames = 0;
  return new Promise((resolve) => {
    const onRtp = (packet: RtpPacket, track: TrackInfo) => {
      if (track.kind !== 'video' || !packet.header.marker || ++frames < count) return;
      player.off('rtp', onRtp);
      resolve();
    };
    player.on('rtp', onRtp);
  });
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function assertContiguous(packets: RtpPacket[], what: string): void {
  for (let i = 1; i < packets.length; i++) {
    const step = (packets[i]!.header.sequenceNumber - packets[i - 1]!.header.sequenceNumber + 0x10000) & 0xffff;
    assert.equal(step, 1, `${what}: sequence numbers follow each other (at ${i})`);
    assert.equal(packets[i]!.header.ssrc, packets[0]!.header.ssrc, `${what}: one SSRC`);
  }
}

/** VP8 frames as the packets describe them: descriptor S bit, 15-bit picture id, keyframe bit, marker on the last. */
function vp8Frames(packets: RtpPacket[]) {
  const frames: { timestamp: number; pictureId: number; keyframe: boolean; packets: number }[] = [];
  let open = false;
  for (const packet of packets) {
    const payload = packet.payload;
    const start = (payload[0]! & 0x10) !== 0;
    assert.equal(start, !open, 'a frame starts with the S bit, and only there');
    assert.equal(payload[1]! & 0x80, 0x80, 'the descriptor carries a picture id');
    const pictureId = ((payload[2]! & 0x7f) << 8) | payload[3]!;
    if (start)
      frames.push({ timestamp: packet.header.timestamp, pictureId, keyframe: (payload[4]! & 0x01) === 0, packets: 0 });
    const frame = frames.at(-1)!;
    assert.equal(packet.header.timestamp, frame.timestamp, 'one timestamp per frame');
    assert.equal(pictureId, frame.pictureId, 'one picture id per frame');
    frame.packets++;
    open = !packet.header.marker;
  }
  assert.equal(open, false, 'the last frame ended with a marker');
  return frames;
}

describe('WebmPlayer', { skip }, () => {
  let dir: string;
  let clip: string;
  let audioPackets: number;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'onair-player-'));
    clip = await makeClip(dir, 'clip.webm', { seconds: SECONDS, fps: FPS });
    audioPackets = (await probePackets(clip, 'a')).length;
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('open() rejects a missing file, saying so', async () => {
    const missing = path.join(dir, 'missing.webm');
    await assert.rejects(
      WebmPlayer.open(missing),
      (error: Error) => error instanceof MediaFileError && error.message === `cannot play "${missing}": no such file`,
    );
  });

  test('open() rejects a file that is not WebM: text, MP4, a truncated header', async () => {
    const text = path.join(dir, 'text.webm');
    await writeFile(text, 'this is not a video\n'.repeat(100));
    const mp4 = await makeClip(dir, 'clip.mp4', { seconds: 1, video: 'h264', audio: false });
    const truncated = path.join(dir, 'truncated.webm');
    await writeFile(truncated, (await readFile(clip)).subarray(0, 30));
    for (const file of [text, mp4, truncated]) {
      await assert.rejects(
        WebmPlayer.open(file),
        (error: Error) => error instanceof MediaFileError && error.message.startsWith(`cannot play "${file}": `),
        file,
      );
    }
    await assert.rejects(WebmPlayer.open(dir), /not a regular file/);
  });

  test('open() rejects a WebM without a VP8, H.264 or Opus track', async () => {
    const vp9 = path.join(dir, 'vp9.webm');
    await new Promise<void>((resolve, reject) =>
      execFile(
        'ffmpeg',
        [
          '-v',
          'error',
          '-y',
          '-f',
          'lavfi',
          '-i',
          'testsrc=size=160x120:rate=10',
          '-t',
          '1',
          '-c:v',
          'libvpx-vp9',
          vp9,
        ],
        (error) => (error ? reject(error) : resolve()),
      ),
    );
    await assert.rejects(WebmPlayer.open(vp9), /it has no VP8, H\.264 or Opus track/);
  });

  test('describes its tracks and duration', async () => {
    const player = await WebmPlayer.open(clip);
    try {
      assert.deepEqual(player.tracks, [
        { kind: 'video', codec: 'VP8', clockRate: 90_000, width: 640, height: 480 },
        { kind: 'audio', codec: 'OPUS', clockRate: 48_000, channels: 1 },
      ]);
      assert.ok(Math.abs(player.durationMs - SECONDS * 1000) < 100, `${player.durationMs} ms`);
      assert.equal(player.state, 'stopped');
    } finally {
      player.close();
    }
  });

  test('play() sends every frame as RTP paced against the clock, then ends', async () => {
    const player = await WebmPlayer.open(clip);
    const { sent, video, audio, ended } = listen(player);
    let ends = 0;
    player.on('end', () => ends++);
    const done = ended();
    player.play();
    await done;
    player.close();

    assertContiguous(video(), 'video');
    assertContiguous(audio(), 'audio');
    const frames = vp8Frames(video());
    assert.equal(frames.length, SECONDS * FPS, 'every video frame');
    assert.ok(frames[0]!.keyframe, 'starting with a keyframe');
    for (let i = 1; i < frames.length; i++) {
      assert.equal(frames[i]!.pictureId, (frames[i - 1]!.pictureId + 1) & 0x7fff, 'picture ids count frames');
      const step = (frames[i]!.timestamp - frames[i - 1]!.timestamp + 2 ** 32) % 2 ** 32;
      assert.ok(Math.abs(step - 90_000 / FPS) <= 1, `video timestamps advance one frame (${step})`);
    }
    const audioSent = audio();
    assert.equal(audioSent.length, audioPackets, 'every Opus packet, one per RTP packet');
    assert.ok(
      audioSent[0]!.header.marker && !audioSent[1]!.header.marker,
      'the first audio packet starts a talk spurt',
    );
    const spanMs = sent.at(-1)!.atMs - sent[0]!.atMs;
    assert.ok(spanMs >= 0.9 * (SECONDS * 1000 - 50), `sent over ${spanMs} ms, not all at once`);
    assert.equal(ends, 1);
    assert.equal(player.state, 'closed');
  });

  test('pause() holds the position and play() continues from it, timestamps following the clock', async () => {
    const player = await WebmPlayer.open(clip);
    const { sent, video, audio, ended } = listen(player);
    player.play();
    await afterFrames(player, FPS);
    player.pause();
    assert.equal(player.state, 'paused');
    const atPause = sent.length;
    const lastBefore = video().at(-1)!.header.timestamp;
    await delay(600);
    assert.equal(sent.length, atPause, 'nothing is sent while paused');
    const done = ended();
    player.play();
    await done;
    player.close();

    const frames = vp8Frames(video());
    assert.equal(frames.length, SECONDS * FPS, 'no frame lost or repeated across the pause');
    assert.equal(audio().length, audioPackets);
    assertContiguous(video(), 'video');
    const resumedAt = frames[FPS]!.timestamp;
    const jumpMs = ((resumedAt - lastBefore + 2 ** 32) % 2 ** 32) / 90;
    assert.ok(jumpMs >= 600, `RTP time moved on by the pause (${jumpMs} ms)`);
  });

  test('stop() rewinds: nothing more is sent, and play() starts over from the first keyframe', async () => {
    const player = await WebmPlayer.open(clip);
    const { sent, video, ended } = listen(player);
    player.play();
    await afterFrames(player, 10);
    player.stop();
    assert.equal(player.state, 'stopped');
    const atStop = sent.length;
    const framesBefore = vp8Frames(video()).length;
    await delay(300);
    assert.equal(sent.length, atStop, 'nothing is sent after stop()');
    const done = ended();
    player.play();
    await done;
    player.close();

    const frames = vp8Frames(video());
    assert.equal(frames.length - framesBefore, SECONDS * FPS, 'the whole clip again');
    assert.ok(frames[framesBefore]!.keyframe, 'from its first keyframe');
    assertContiguous(video(), 'video');
  });

  test('close() is idempotent and play() after it is refused', async () => {
    const player = await WebmPlayer.open(clip);
    player.play();
    player.close();
    player.close();
    assert.equal(player.state, 'closed');
    assert.throws(() => player.play(), InvalidStateError);
    player.pause();
    player.stop();
  });

  test('once closed, in whatever state, a player sends nothing more', async () => {
    const players: { player: WebmPlayer; sentAtClose: number; sent: () => number }[] = [];
    for (let i = 0; i < 12; i++) {
      const player = await WebmPlayer.open(clip);
      let sent = 0;
      player.on('rtp', () => sent++);
      player.play();
      await delay(i * 15);
      if (i % 3 === 0) player.pause();
      if (i % 3 === 1) player.stop();
      player.close();
      assert.equal(player.state, 'closed');
      players.push({ player, sentAtClose: sent, sent: () => sent });
    }
    await delay(200);
    for (const { sentAtClose, sent } of players) assert.equal(sent(), sentAtClose);
  });
});

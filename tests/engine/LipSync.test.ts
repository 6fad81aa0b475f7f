/**
 * Lip sync of the engine's recordings by the presenter's RTCP sender reports, end to end: a synthetic presenter (a
 * werift peer through a real WebRtcEndpoint, signalled with kurento-client) sends a clip of flashes and beeps whose
 * audio reaches the engine 1 s after its video, with sender reports it writes itself (werift's own are accurate only
 * to the second and are switched off). The recording is decoded by ffmpeg and the beeps are found against the
 * flashes: where the reports put them, not where their arrival did.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { RTCPeerConnection, RTCRtpCodecParameters, RtcpSenderInfo, RtcpSrPacket, type RTCRtpTransceiver } from 'werift';
import { RtpPacketizer } from '../../media/engine/recording/RtpPacketizer.js';
import { readClip, type Clip } from '../../smoke/media.js';
import { gatheredOffer } from '../../smoke/peer.js';
import { skipUnless } from '../support/services.js';
import { assertBackToBaseline, call, connectClient, useTestEngine, waitFor } from './helpers/engineHarness.js';

const run = promisify(execFile);

/** The clip: 20 fps, a white flash and a 1 kHz beep, 200 ms each, at 1 s and 4 s of every 6 s loop. */
const FPS = 20;
const PERIOD_MS = 3000;
const EVENT_AT_MS = 1000;
/** How much later than its video the presenter's audio reaches the engine. */
const AUDIO_LATE_MS = 1000;
/** Media sent per recording (capture time): flashes at 1, 4 and 7 s. */
const SEND_MS = 8500;
/** How far a beep may lie from where the sender reports put it (ms): one video frame is 50 ms. */
const TOLERANCE_MS = 40;

async function makeFlashBeepClip(dir: string): Promise<Clip> {
  const file = path.join(dir, 'flash-beep.webm');
  const on = `between(mod(t\\,${PERIOD_MS / 1000})\\,${EVENT_AT_MS / 1000}\\,${EVENT_AT_MS / 1000 + 0.19})`;
  // prettier-ignore
  await run('ffmpeg', [
    '-v', 'error', '-y',
    '-f', 'lavfi', '-i', `color=c=black:s=320x240:r=${FPS}:d=6,drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable=${on}`,
    '-f', 'lavfi', '-i', `aevalsrc=exprs=if(${on}\\,0.5*sin(2*PI*1000*t)\\,0):s=48000:d=6`,
    '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-g', String(FPS),
    '-c:a', 'libopus', '-b:a', '32k',
    file,
  ]);
  return readClip(file);
}

/** A 64-bit NTP timestamp of a Unix time in ms. */
function ntpOf(unixMs: number): bigint {
  const seconds = Math.floor(unixMs / 1000) + 2_208_988_800;
  const fraction = Math.round(((unixMs % 1000) / 1000) * 2 ** 32);
  return (BigInt(seconds) << 32n) + BigInt(Math.min(fraction, 2 ** 32 - 1));
}

type Kind = 'audio' | 'video';

/**
 * A presenter on werift that sends a clip in real time, its audio `AUDIO_LATE_MS` behind its video, and every
 * 200 ms a sender report per track that maps the track's latest RTP timestamp to its capture time plus `srShiftMs`.
 */
class SyntheticPresenter {
  readonly pc = new RTCPeerConnection({
    iceServers: [],
    iceUseIpv6: false,
    bundlePolicy: 'max-bundle',
    codecs: {
      audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48_000, channels: 2 })],
      video: [
        new RTCRtpCodecParameters({
          mimeType: 'video/VP8',
          clockRate: 90_000,
          rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
        }),
      ],
    },
  });
  readonly #clip: Clip;
  readonly #srShiftMs: Record<Kind, number>;
  readonly #transceivers: Record<Kind, RTCRtpTransceiver>;
  readonly #packetizers = {
    video: new RtpPacketizer({ kind: 'video', codec: 'VP8', clockRate: 90_000 }, { maxPayload: 1100 }),
    audio: new RtpPacketizer({ kind: 'audio', codec: 'OPUS', clockRate: 48_000 }, { maxPayload: 1100 }),
  };
  readonly #next: Record<Kind, number> = { video: 0, audio: 0 };
  readonly #lastCaptureMs: Partial<Record<Kind, number>> = {};
  readonly #sent: Record<Kind, { packets: number; octets: number }> = {
    video: { packets: 0, octets: 0 },
    audio: { packets: 0, octets: 0 },
  };
  #timers: NodeJS.Timeout[] = [];
  #startedAt = 0;
  /** The presenter's wall clock (Unix ms) at capture time 0. */
  #epochMs = 0;

  constructor(clip: Clip, srShiftMs: Record<Kind, number>) {
    this.#clip = clip;
    this.#srShiftMs = srShiftMs;
    this.#transceivers = {
      audio: this.pc.addTransceiver('audio', { direction: 'sendonly' }),
      video: this.pc.addTransceiver('video', { direction: 'sendonly' }),
    };
    // werift's own sender reports carry a wrong NTP fraction: they are never started (runRtcp returns at once).
    for (const transceiver of Object.values(this.#transceivers)) transceiver.sender.rtcpRunning = true;
    // Loopback only: no server-reflexive gathering (werift would query a public default).
    for (const transport of this.pc.iceTransports) transport.connection.stunServer = undefined;
  }

  /** The offer with its candidates gathered. */
  offer(): Promise<string> {
    return gatheredOffer(this.pc);
  }

  async answer(sdp: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
  }

  addCandidate(candidate: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }): void {
    this.pc.addIceCandidate(candidate).catch(() => undefined);
  }

  start(): void {
    this.#startedAt = performance.now();
    this.#epochMs = Date.now();
    this.#timers.push(setInterval(() => this.#pump(), 10));
    this.#timers.push(setInterval(() => this.#report(), 200));
    this.#pump();
  }

  /** Capture time (ms) of everything sent so far, per kind. */
  sentUpTo(kind: Kind): number {
    return this.#lastCaptureMs[kind] ?? -1;
  }

  #pump(): void {
    const elapsed = performance.now() - this.#startedAt;
    for (const kind of ['video', 'audio'] as const) {
      const due = kind === 'audio' ? elapsed - AUDIO_LATE_MS : elapsed;
      const frames = this.#clip[kind];
      for (;;) {
        const index = this.#next[kind];
        const frame = frames[index % frames.length]!;
        const captureMs = Math.floor(index / frames.length) * this.#clip.durationMs + frame.ms;
        if (captureMs > due || captureMs > SEND_MS) break;
        const packetizer = this.#packetizers[kind];
        for (const packet of packetizer.packetize(frame.data, packetizer.timestampAt(captureMs), frame.key)) {
          this.#sent[kind].packets += 1;
          this.#sent[kind].octets += packet.payload.byteLength;
          void this.#transceivers[kind].sender.sendRtp(packet).catch(() => undefined);
        }
        this.#lastCaptureMs[kind] = captureMs;
        this.#next[kind] += 1;
      }
    }
  }

  #report(): void {
    for (const kind of ['video', 'audio'] as const) {
      const captureMs = this.#lastCaptureMs[kind];
      if (captureMs === undefined) continue;
      const sender = this.#transceivers[kind].sender;
      const report = new RtcpSrPacket({
        ssrc: sender.ssrc,
        senderInfo: new RtcpSenderInfo({
          ntpTimestamp: ntpOf(this.#epochMs + captureMs + this.#srShiftMs[kind]),
          rtpTimestamp: this.#packetizers[kind].timestampAt(captureMs),
          packetCount: this.#sent[kind].packets,
          octetCount: this.#sent[kind].octets,
        }),
      });
      sender.dtlsTransport.sendRtcp([report]).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    await this.pc.close().catch(() => undefined);
  }
}

interface Onsets {
  /** File times (ms) where the picture turns white. */
  flashes: number[];
  /** File times (ms) where the beep starts. */
  beeps: number[];
}

/** Decodes the recording once (its own timestamps, both streams) and finds the flashes and the beeps. */
async function onsetsOf(file: string, dir: string): Promise<Onsets> {
  const videoLog = path.join(dir, `${path.basename(file)}.video.txt`);
  const audioLog = path.join(dir, `${path.basename(file)}.audio.txt`);
  // prettier-ignore
  await run('ffmpeg', [
    '-v', 'error', '-copyts', '-i', file,
    '-filter_complex',
    `[0:v]signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=${videoLog}[v];` +
      `[0:a]aresample=48000,asetnsamples=n=96:p=0,astats=metadata=1:reset=1,ametadata=print:key=lavfi.astats.Overall.RMS_level:file=${audioLog}[a]`,
    '-map', '[v]', '-f', 'null', '-', '-map', '[a]', '-f', 'null', '-',
  ]);
  const series = async (log: string): Promise<{ ms: number; value: number }[]> => {
    const out: { ms: number; value: number }[] = [];
    let ms: number | undefined;
    for (const line of (await readFile(log, 'utf8')).split('\n')) {
      const time = /pts_time:(-?[\d.]+)/.exec(line);
      if (time) ms = Number(time[1]) * 1000;
      const value = /=(-?[\d.]+|-inf|inf|nan)$/.exec(line.trim());
      if (!time && value && ms !== undefined) out.push({ ms, value: Number(value[1]) });
    }
    return out;
  };
  const onsets = (points: { ms: number; value: number }[], low: number, high: number): number[] => {
    const out: number[] = [];
    let armed = false;
    for (const { ms, value } of points) {
      const level = Number.isNaN(value) ? -Infinity : value;
      if (level < low) armed = true;
      else if (level > high && armed) {
        out.push(ms);
        armed = false;
      }
    }
    return out;
  };
  return {
    flashes: onsets(await series(videoLog), 60, 150),
    beeps: onsets(await series(audioLog), -50, -30),
  };
}

/** For each flash far enough inside the file, the signed distance to its nearest beep (ms). */
function beepOffsets({ flashes, beeps }: Onsets, expectedMs: number, endMs: number): number[] {
  return flashes
    .filter((flash) => flash + expectedMs >= 300 && flash + expectedMs <= endMs - 500)
    .map((flash) => {
      const nearest = beeps.reduce((best, beep) => (Math.abs(beep - flash) < Math.abs(best - flash) ? beep : best));
      return Math.round(nearest - flash);
    });
}

async function probeAudio(file: string): Promise<{ channels: number; durationMs: number }> {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-show_entries', 'stream=codec_type,channels:format=duration', '-of', 'json', file],
  ]);
  const json = JSON.parse(stdout) as {
    streams: { codec_type: string; channels?: number }[];
    format: { duration: string };
  };
  const audio = json.streams.find((stream) => stream.codec_type === 'audio');
  return { channels: audio?.channels ?? 0, durationMs: Number(json.format.duration) * 1000 };
}

describe('lip sync of recordings by RTCP sender reports', { skip: skipUnless('ffmpeg') }, () => {
  const fixture = useTestEngine();
  let dir: string;
  let clip: Clip;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'onair-lipsync-'));
    clip = await makeFlashBeepClip(dir);
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Records the presenter through a WebRtcEndpoint into `name`; returns the file. */
  const record = async (name: string, srShiftMs: Record<Kind, number>): Promise<string> => {
    const file = path.join(dir, name);
    const client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const presenter = new SyntheticPresenter(clip, srShiftMs);
    try {
      const endpoint = await pipeline.create('WebRtcEndpoint');
      const recorder = await pipeline.create('RecorderEndpoint', { uri: `file://${file}`, mediaProfile: 'WEBM' });
      await call((cb) => endpoint.connect(recorder, cb));
      await call((cb) => recorder.record(cb));
      endpoint.on('IceCandidateFound', (event: any) => presenter.addCandidate(event.candidate));
      const offer = await presenter.offer();
      const answer = await call<string>((cb) => endpoint.processOffer(offer, cb));
      await presenter.answer(answer);
      await call((cb) => endpoint.gatherCandidates(cb));
      await waitFor('the presenter to connect', () => presenter.pc.connectionState === 'connected');
      presenter.start();
      await waitFor('the presenter to send its clip', () => presenter.sentUpTo('audio') >= SEND_MS - 40, 30_000);
      await sleep(300); // the last packets reach the recorder
      await call((cb) => recorder.stopAndWait(cb));
    } finally {
      await presenter.close();
      await call((cb) => pipeline.release(cb));
      client.close();
    }
    return file;
  };

  test('audio that arrives 1 s after its video is recorded where its sender reports put it: with the flashes', async (t) => {
    const file = await record('true-reports.webm', { video: 0, audio: 0 });
    const { durationMs, channels } = await probeAudio(file);
    assert.equal(channels, 2, 'Opus coded in mono is labelled 2 channels, as WebRTC signals it');
    const offsets = beepOffsets(await onsetsOf(file, dir), 0, durationMs);
    t.diagnostic(`beep - flash: ${offsets.join(', ')} ms`);
    assert.ok(offsets.length >= 2, `flashes to judge: ${offsets.length}`);
    for (const offset of offsets)
      assert.ok(Math.abs(offset) <= TOLERANCE_MS, `beeps vs flashes: ${offsets.join(', ')} ms (expected 0)`);
    await assertBackToBaseline(fixture.engine.uri, fixture.baseline);
  });

  test('the recording follows the reports, not the arrival: reports that say audio was captured 1 s earlier', async (t) => {
    const file = await record('early-reports.webm', { video: 0, audio: -1000 });
    const { durationMs } = await probeAudio(file);
    const offsets = beepOffsets(await onsetsOf(file, dir), -1000, durationMs);
    t.diagnostic(`beep - flash: ${offsets.join(', ')} ms`);
    assert.ok(offsets.length >= 2, `flashes to judge: ${offsets.length}`);
    for (const offset of offsets)
      assert.ok(Math.abs(offset + 1000) <= TOLERANCE_MS, `beeps vs flashes: ${offsets.join(', ')} ms (expected -1000)`);
    await assertBackToBaseline(fixture.engine.uri, fixture.baseline);
  });
});

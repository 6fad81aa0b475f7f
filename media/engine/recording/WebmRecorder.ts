import { EventEmitter } from 'node:events';
import type { RtpPacket } from 'werift';
import { FileSink } from './FileSink.js';
import { createAssembler, type AssembledFrame, type FrameAssembler } from './FrameAssembler.js';
import type { H264Assembler } from './H264Assembler.js';
import { Interleaver, type TimelineFrame } from './Interleaver.js';
import { RtpReorderBuffer } from './RtpReorderBuffer.js';
import { TrackClock } from './TrackClock.js';
import { WebmWriter, type WebmTrack } from './WebmWriter.js';
import { buildAvcC, spsPictureSize } from './codecs/H264.js';
import { opusHead } from './codecs/Opus.js';
import { vp8KeyframeSize } from './codecs/Vp8.js';
import { InvalidStateError, UnsupportedError, type MediaFileError } from './errors.js';
import {
  CODEC_CLOCK_RATES,
  RECORDING_PROFILES,
  profileKinds,
  type MediaKind,
  type RecordingProfile,
  type RecordingResult,
  type SenderReport,
  type TrackInfo,
} from './types.js';

export type { MediaKind, RecordingProfile, TrackInfo } from './types.js';

export interface WebmRecorderOptions {
  /** The file to write, exactly (the endpoint checked the URI; nothing else is written). */
  path: string;
  profile: RecordingProfile;
  /** Ask the source for a keyframe (the engine throttles and relays it as a PLI). */
  requestKeyframe: () => void;
  /** Ask for a keyframe this often while recording, so that seeking finds one nearby (ms; 0: only when needed). */
  keyframeIntervalMs?: number;
  /** How long a missing RTP packet is waited for before it counts as lost (ms). */
  reorderWindowMs?: number;
  /** The clock arrival times are read from (ms); tests may drive it. */
  now?: () => number;
}

export interface WebmRecorderEvents {
  error: [error: Error];
}

export type RecorderState = 'idle' | 'starting' | 'recording' | 'paused' | 'stopping' | 'stopped' | 'failed' | 'closed';

/** A waiting source is asked again for a keyframe this often. */
const KEYFRAME_RETRY_MS = 1000;
const REORDER_MAX_PACKETS = 512;
/** Frames wait this much longer than a lost packet does for the other track to catch up. */
const INTERLEAVE_EXTRA_MS = 200;
/** Audio captured up to this long before the first video keyframe starts the file (rather than being dropped). */
const PRE_ROLL_MS = 1000;
/**
 * Once a source has sent a sender report, how long frames wait for the reports that place them before they are
 * written as they arrived: the file lags this much behind the live until then (libwebrtc sends its first audio
 * report a few seconds in). A source that never sends any (a PlayerEndpoint) is never waited for.
 */
const SENDER_REPORT_WAIT_MS = 3000;
/** A sender report that moves an aligned track by more than this re-aligns it (its RTP clock drifted). */
const RESYNC_MS = 25;
/** Sender reports that would move a track this far from where its packets arrive are not believed (another sender). */
const MAX_SYNC_SHIFT_MS = 5000;
/** An audio frame that starts this far before the end of the last one written overlaps it (a re-alignment): dropped. */
const AUDIO_OVERLAP_MS = 10;
/** Opus in WebRTC is always signalled as 2 channels (RFC 7587 §7); decoders upmix mono packets. */
const OPUS_CHANNELS = 2;

interface RecordedTrack {
  info: TrackInfo;
  number: number;
  ssrc: number | undefined;
  reorder: RtpReorderBuffer;
  assembler: FrameAssembler;
  clock: TrackClock;
  /** Video only: drop frames until a keyframe (start, loss, resume). */
  needKeyframe: boolean;
  /** Last block time in the file (ms). */
  lastMs: number | undefined;
  /** End of the last block in the file (ms), when its duration is known (audio). */
  lastEndMs: number | undefined;
  /** The last sender report taken into account for this stream. */
  report: SenderReport | undefined;
  /** Video only: picture size of the first keyframe. */
  size: { width: number; height: number } | undefined;
}

/**
 * One RecorderEndpoint's file. RTP packets of the connected tracks come in through `writeRtp()`; each track is
 * put back in order, rebuilt into frames and placed on one wall-clock timeline from its RTP timestamps (no
 * lip-sync stage that could drop audio). Tracks are placed where their packets arrive until every track has a
 * sender report (`TrackInfo.senderReport`); from then on by the reports, on the sender's capture clock, as KMS's
 * rtpbin does. The file starts on the first video keyframe, or on the audio captured up to PRE_ROLL_MS before it
 * (the first audio frame for WEBM_AUDIO_ONLY), is written progressively by a WebmWriter (readable if the process
 * dies) and gets its duration and cues on `stop()`. A pause leaves no gap: the timeline resumes where it stopped.
 */
export class WebmRecorder extends EventEmitter<WebmRecorderEvents> {
  readonly path: string;
  readonly profile: RecordingProfile;
  readonly #requestKeyframe: () => void;
  readonly #keyframeIntervalMs: number;
  readonly #reorderWindowMs: number;
  readonly #now: () => number;
  readonly #kinds: MediaKind[];
  #state: RecorderState = 'idle';
  #starting: Promise<void> | undefined;
  #stopping: Promise<RecordingResult> | undefined;
  #sink: FileSink | undefined;
  #writer: WebmWriter | undefined;
  #interleaver: Interleaver;
  #tracks = new Map<MediaKind, RecordedTrack>();
  #refused = new Set<MediaKind>();
  /** Timeline position (wall ms) of the file's time 0; moved on resume so that a pause leaves no gap. */
  #baseMs: number | undefined;
  #resumePending = false;
  #resumeAtMs = 0;
  #lastKeyframeRequestMs = -Infinity;
  #lastKeyframeWrittenMs = -Infinity;
  /** Whether a sender report came with any packet: from then on, tracks wait for theirs (the source sends them). */
  #reportsSeen = false;
  /** Audio released before the file began, kept to start the file with it (at most PRE_ROLL_MS of it). */
  #preRoll: TimelineFrame[] = [];

  constructor(options: WebmRecorderOptions) {
    super();
    if (typeof options?.path !== 'string' || options.path.length === 0)
      throw new TypeError('path must be a non-empty string');
    if (typeof options.requestKeyframe !== 'function') throw new TypeError('requestKeyframe must be a function');
    this.path = options.path;
    this.profile = WebmRecorder.checkProfile(options.profile);
    this.#requestKeyframe = options.requestKeyframe;
    this.#keyframeIntervalMs = options.keyframeIntervalMs ?? 5_000;
    this.#reorderWindowMs = options.reorderWindowMs ?? 300;
    this.#now = options.now ?? (() => performance.now());
    this.#kinds = profileKinds(this.profile);
    // Tracks are synchronised only with each other: a one-track file never waits for sender reports.
    const settleMs = this.#kinds.length > 1 ? SENDER_REPORT_WAIT_MS : 0;
    this.#interleaver = new Interleaver(this.#kinds, this.#reorderWindowMs + INTERLEAVE_EXTRA_MS, settleMs);
  }

  /** The profile if this recorder honours it; an UnsupportedError saying what it does honour otherwise. */
  static checkProfile(profile: unknown): RecordingProfile {
    if (RECORDING_PROFILES.includes(profile as RecordingProfile)) return profile as RecordingProfile;
    throw new UnsupportedError(
      `media profile ${JSON.stringify(profile)} is not supported: the engine records ${RECORDING_PROFILES.join(', ')}`,
    );
  }

  /** Whether a track of this codec can be recorded at all (WebM: VP8 or H.264 video, Opus audio). */
  static supports(track: TrackInfo): boolean {
    const codec = CODEC_CLOCK_RATES[track.codec];
    return codec !== undefined && codec.kind === track.kind && codec.clockRate === track.clockRate;
  }

  get state(): RecorderState {
    return this.#state;
  }

  /** Duration written so far (ms). */
  get durationMs(): number {
    return this.#writer?.durationMs ?? 0;
  }

  /** record(): create the file and ask the source for a keyframe. */
  start(): Promise<void> {
    if (this.#state !== 'idle')
      return Promise.reject(new InvalidStateError(`record() on a recorder that is ${this.#state}`));
    this.#state = 'starting';
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    let sink: FileSink;
    try {
      sink = await FileSink.create(this.path, (error) => this.#fail(error));
    } catch (error) {
      if (this.#state === 'starting') this.#state = 'failed';
      throw error;
    }
    if (this.#state !== 'starting') {
      sink.abort(); // closed meanwhile
      return;
    }
    this.#sink = sink;
    this.#state = 'recording';
    if (this.#kinds.includes('video')) this.#askKeyframe(this.#now(), 0);
  }

  /** One RTP packet of a connected track (the caller's own copy). Ignored unless recording. */
  writeRtp(packet: RtpPacket, track: TrackInfo): void {
    if (this.#state !== 'recording' || !this.#kinds.includes(track.kind)) return;
    const recorded = this.#trackFor(track);
    if (!recorded) return;
    const now = this.#now();
    const { ssrc, timestamp } = packet.header;
    if ((recorded.ssrc !== undefined && ssrc !== recorded.ssrc) || recorded.clock.jumped(timestamp, now)) {
      this.#restartTrack(recorded, now);
    }
    recorded.ssrc = ssrc;
    recorded.clock.observe(timestamp, now);
    const report = track.senderReport;
    if (report && report.ssrc === ssrc && !sameReport(report, recorded.report)) {
      recorded.report = report;
      recorded.clock.report(report);
      if (!this.#reportsSeen) {
        this.#reportsSeen = true;
        for (const kind of this.#kinds) if (!this.#tracks.get(kind)?.clock.aligned) this.#interleaver.unsettle(kind);
      }
      this.#align();
    }
    for (const ordered of recorded.reorder.push(packet, now))
      this.#assemble(recorded, ordered.packet, ordered.gapBefore, now);
  }

  /** pause(): what arrived so far is written; nothing more until resume(). */
  pause(): void {
    if (this.#state !== 'recording') return;
    this.#drain(this.#now());
    this.#state = 'paused';
    this.#resumeAtMs = this.#writer?.durationMs ?? 0;
  }

  /** record() again after pause(): the timeline continues where it paused. */
  resume(): void {
    if (this.#state !== 'paused') return;
    this.#state = 'recording';
    for (const track of this.#tracks.values()) {
      this.#forgetStream(track);
      track.report = undefined; // the same stream goes on: its last report is taken again with its next packet
    }
    this.#resumePending = this.#baseMs !== undefined;
    if (this.#kinds.includes('video')) this.#askKeyframe(this.#now(), 0);
  }

  /** Flush, write duration and cues, close the file. Idempotent. */
  stop(): Promise<RecordingResult> {
    if (this.#state === 'closed') return Promise.reject(new InvalidStateError('stop() on a closed recorder'));
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<RecordingResult> {
    if (this.#starting) await this.#starting.catch(() => undefined);
    if (this.#state === 'recording') this.#drain(this.#now());
    if (this.#state === 'closed') throw new InvalidStateError('the recorder was closed while stopping');
    const failed = this.#state === 'failed';
    this.#state = 'stopping';
    const sink = this.#sink;
    if (!sink) {
      this.#state = failed ? 'failed' : 'stopped';
      return { durationMs: 0, bytes: 0 };
    }
    const durationMs = failed ? (this.#writer?.durationMs ?? 0) : (this.#writer?.finish() ?? 0);
    try {
      await sink.close();
    } catch (error) {
      this.#state = 'failed';
      throw error;
    }
    this.#releaseBuffers();
    this.#state = 'stopped';
    return { durationMs, bytes: sink.size };
  }

  /** Release at once without finishing the file (it stays readable up to its last block). Idempotent. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#sink?.abort();
    this.#releaseBuffers();
  }

  #releaseBuffers(): void {
    for (const track of this.#tracks.values()) {
      track.reorder.reset();
      track.assembler.reset();
    }
    this.#interleaver.flush();
    this.#preRoll = [];
  }

  #trackFor(info: TrackInfo): RecordedTrack | undefined {
    const existing = this.#tracks.get(info.kind);
    if (existing && existing.info.codec === info.codec) return existing;
    if (this.#refused.has(info.kind)) return undefined;
    if (existing) {
      return this.#refuse(
        info.kind,
        `cannot switch ${info.kind} from ${existing.info.codec} to ${info.codec} within one recording`,
      );
    }
    if (!WebmRecorder.supports(info)) {
      return this.#refuse(
        info.kind,
        `cannot record ${info.kind} ${info.codec}/${info.clockRate}: WebM here carries VP8 or H264 video (90000) and OPUS audio (48000)`,
      );
    }
    const track: RecordedTrack = {
      info: { kind: info.kind, codec: info.codec, clockRate: info.clockRate },
      number: this.#kinds.indexOf(info.kind) + 1,
      ssrc: undefined,
      reorder: new RtpReorderBuffer({ maxDelayMs: this.#reorderWindowMs, maxPackets: REORDER_MAX_PACKETS }),
      assembler: createAssembler(info.codec),
      clock: new TrackClock(info.clockRate),
      needKeyframe: info.kind === 'video',
      lastMs: undefined,
      lastEndMs: undefined,
      report: undefined,
      size: undefined,
    };
    this.#tracks.set(info.kind, track);
    return track;
  }

  #refuse(kind: MediaKind, message: string): undefined {
    this.#refused.add(kind);
    this.#emitError(new UnsupportedError(message));
    return undefined;
  }

  /** A new SSRC or a timestamp jump: finish what the old stream left, then start the track's stream afresh. */
  #restartTrack(track: RecordedTrack, now: number): void {
    for (const ordered of track.reorder.flush()) this.#assemble(track, ordered.packet, ordered.gapBefore, now);
    this.#forgetStream(track);
  }

  #forgetStream(track: RecordedTrack): void {
    track.reorder.reset();
    track.assembler.reset();
    track.clock.reset();
    if (this.#reportsSeen) this.#interleaver.unsettle(track.info.kind);
    track.ssrc = undefined;
    if (track.info.kind === 'video') track.needKeyframe = true;
  }

  /**
   * Once every recorded track has a sender report, place each by its report, relative to the first track (the
   * video of an A/V profile, which starts the file): that one stays where it is (where its arrival put it), the
   * others go where the reports say they were captured relative to it. A later report moves a track again only when
   * it disagrees by more than RESYNC_MS. A track restarted (new SSRC, jump) is placed by arrival until its next one.
   */
  #align(): void {
    const tracks: RecordedTrack[] = [];
    for (const kind of this.#kinds) {
      const track = this.#tracks.get(kind);
      if (track?.clock.captureOffsetMs === undefined || track.clock.offsetMs === undefined) return;
      tracks.push(track);
    }
    const [anchor, ...others] = tracks as [RecordedTrack, ...RecordedTrack[]];
    // Sender clock to timeline (ms): where the reports' NTP times fall, by the anchor's latest report.
    const senderToWallMs = anchor.clock.offsetMs! - anchor.clock.captureOffsetMs!;
    if (!anchor.clock.aligned) {
      anchor.clock.align(anchor.clock.offsetMs!);
      this.#interleaver.settle(anchor.info.kind, 0);
    }
    for (const track of others) {
      const { clock } = track;
      const kind = track.info.kind;
      const before = clock.offsetMs!;
      const target = clock.captureOffsetMs! + senderToWallMs;
      if (Math.abs(target - clock.arrivalOffsetMs!) > MAX_SYNC_SHIFT_MS) {
        this.#interleaver.settle(kind, 0); // not the same sender's clock: where it arrives
        continue;
      }
      if (clock.aligned && Math.abs(target - before) <= RESYNC_MS) continue;
      clock.align(target);
      // Frames not written yet move with their track.
      this.#interleaver.settle(kind, target - before);
      for (const frame of this.#preRoll) if (frame.kind === kind) frame.wallMs += target - before;
    }
  }

  #assemble(track: RecordedTrack, packet: RtpPacket, gapBefore: boolean, now: number): void {
    for (const frame of track.assembler.push(packet, gapBefore)) this.#onFrame(track, frame, now);
  }

  #onFrame(track: RecordedTrack, frame: AssembledFrame, now: number): void {
    if (track.info.kind === 'video') {
      if (!frame.continuous) track.needKeyframe = true;
      if (track.needKeyframe) {
        if (!frame.keyframe || !this.#videoReady(track, frame)) {
          this.#askKeyframe(now, KEYFRAME_RETRY_MS);
          return;
        }
        track.needKeyframe = false;
      }
    }
    const wallMs = track.clock.wallMs(frame.rtpTimestamp);
    if (this.#baseMs === undefined && this.#startsFile(track)) this.#beginFile(wallMs);
    // From the file's first frame on, the track's RTP-to-wall offset no longer moves: its frames keep their spacing.
    if (this.#baseMs !== undefined) track.clock.fix();
    const timelineFrame: TimelineFrame = {
      kind: track.info.kind,
      wallMs,
      data: frame.data,
      keyframe: frame.keyframe,
      readyMs: now,
      rtpTimestamp: frame.rtpTimestamp,
      ...(frame.durationMs === undefined ? {} : { durationMs: frame.durationMs }),
    };
    for (const ready of this.#interleaver.push(timelineFrame, now)) this.#write(ready, now);
  }

  /** A video keyframe the file can start from: its picture size (and for H.264 its parameter sets) known. */
  #videoReady(track: RecordedTrack, frame: AssembledFrame): boolean {
    if (track.info.codec === 'VP8') {
      const size = vp8KeyframeSize(frame.data);
      track.size ??= size;
      return size !== undefined;
    }
    const h264 = track.assembler as H264Assembler;
    if (!h264.sps || !h264.pps) return false;
    track.size ??= spsPictureSize(h264.sps);
    return true;
  }

  #startsFile(track: RecordedTrack): boolean {
    return this.#kinds.includes('video') ? track.info.kind === 'video' : true;
  }

  #beginFile(wallMs: number): void {
    // The other tracks' offsets stop moving now: what they queued so far keeps their own clocks' spacing.
    for (const track of this.#tracks.values()) {
      track.clock.fix();
      const wallMsOf = (frame: TimelineFrame) =>
        frame.rtpTimestamp === undefined ? frame.wallMs : track.clock.wallMs(frame.rtpTimestamp);
      this.#interleaver.place(track.info.kind, wallMsOf);
      for (const frame of this.#preRoll) if (frame.kind === track.info.kind) frame.wallMs = wallMsOf(frame);
    }
    // Audio captured shortly before the keyframe, released already or still queued, starts the file.
    const preRoll = this.#preRoll
      .filter((frame) => frame.wallMs >= wallMs - PRE_ROLL_MS)
      .sort((a, b) => a.wallMs - b.wallMs);
    this.#preRoll = [];
    const queued = this.#interleaver.firstFrom(wallMs - PRE_ROLL_MS) ?? wallMs;
    this.#baseMs = Math.min(wallMs, preRoll[0]?.wallMs ?? wallMs, queued);
    this.#interleaver.dropBefore(this.#baseMs);
    const tracks: WebmTrack[] = [];
    for (const kind of this.#kinds) {
      const track = this.#tracks.get(kind);
      const number = this.#kinds.indexOf(kind) + 1;
      if (kind === 'video') {
        const codec = track?.info.codec ?? 'VP8';
        const h264 = codec === 'H264' ? (track!.assembler as H264Assembler) : undefined;
        tracks.push({
          number,
          kind,
          codecId: codec === 'H264' ? 'V_MPEG4/ISO/AVC' : 'V_VP8',
          ...(h264?.sps && h264.pps ? { codecPrivate: buildAvcC(h264.sps, h264.pps) } : {}),
          width: track?.size?.width ?? 640,
          height: track?.size?.height ?? 480,
        });
      } else {
        tracks.push({
          number,
          kind,
          codecId: 'A_OPUS',
          codecPrivate: opusHead(OPUS_CHANNELS),
          sampleRate: 48_000,
          channels: OPUS_CHANNELS,
        });
      }
    }
    this.#writer = new WebmWriter(this.#sink!, tracks);
    for (const frame of preRoll) this.#write(frame, frame.readyMs);
  }

  #write(frame: TimelineFrame, now: number): void {
    const writer = this.#writer;
    const track = this.#tracks.get(frame.kind);
    if (!track) return;
    if (!writer || this.#baseMs === undefined) {
      // Before the file's first frame: audio is kept a while, in case the first video keyframe comes soon.
      if (frame.kind === 'audio' && this.#kinds.includes('video')) {
        this.#preRoll.push(frame);
        const oldest = this.#preRoll.findIndex((kept) => kept.wallMs >= frame.wallMs - PRE_ROLL_MS);
        if (oldest > 0) this.#preRoll.splice(0, oldest);
      }
      return;
    }
    if (this.#resumePending) {
      this.#baseMs = frame.wallMs - this.#resumeAtMs;
      this.#resumePending = false;
    }
    let timeMs = Math.round(frame.wallMs - this.#baseMs);
    if (timeMs < 0) return;
    // Audio moved earlier by a re-alignment would overlap what is written: that much of it is dropped.
    if (track.lastEndMs !== undefined && timeMs < track.lastEndMs - AUDIO_OVERLAP_MS) return;
    // Each track's block times strictly increase (a decoder refuses two frames at one time).
    if (track.lastMs !== undefined) timeMs = Math.max(timeMs, track.lastMs + 1);
    writer.writeFrame(track.number, timeMs, frame.data, frame.keyframe, frame.durationMs);
    track.lastMs = timeMs;
    track.lastEndMs = frame.durationMs === undefined ? undefined : timeMs + frame.durationMs;
    if (frame.kind !== 'video' || this.#keyframeIntervalMs <= 0) return;
    if (frame.keyframe) this.#lastKeyframeWrittenMs = now;
    else if (now - this.#lastKeyframeWrittenMs >= this.#keyframeIntervalMs)
      this.#askKeyframe(now, this.#keyframeIntervalMs);
  }

  /** Write out everything buffered (pause, stop): packets held for reordering, partial interleaving. */
  #drain(now: number): void {
    for (const track of this.#tracks.values()) {
      for (const ordered of track.reorder.flush()) this.#assemble(track, ordered.packet, ordered.gapBefore, now);
    }
    for (const frame of this.#interleaver.flush()) this.#write(frame, now);
  }

  #askKeyframe(now: number, minGapMs: number): void {
    if (now - this.#lastKeyframeRequestMs < minGapMs) return;
    this.#lastKeyframeRequestMs = now;
    try {
      this.#requestKeyframe();
    } catch (error) {
      this.#emitError(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #fail(error: MediaFileError): void {
    if (this.#state === 'closed' || this.#state === 'stopped') return;
    this.#state = 'failed';
    this.#emitError(error);
  }

  /** 'error' without a listener must not throw into the media path. */
  #emitError(error: Error): void {
    if (this.listenerCount('error') === 0) return;
    try {
      this.emit('error', error);
    } catch {
      // a throwing listener must not break recording
    }
  }
}

function sameReport(a: SenderReport, b: SenderReport | undefined): boolean {
  return b !== undefined && a.ssrc === b.ssrc && a.ntpMs === b.ntpMs && a.rtpTimestamp === b.rtpTimestamp;
}

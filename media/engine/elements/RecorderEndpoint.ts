/**
 * Records what its sources send into a WebM file (the recording module's WebmRecorder): record,
 * pause, stop / stopAndWait with Kurento's state events. Only file:// URIs; WEBM, WEBM_AUDIO_ONLY and
 * WEBM_VIDEO_ONLY profiles, and their MKV twins (the same writer; a file with H.264 is Matroska either way). Releasing a recorder that is still recording finishes the file first.
 *
 * In the KMS-faithful mode it behaves as KMS's recorder instead: a file it cannot write is reported only
 * by an asynchronous Error event (record() succeeds); stopAndWait returns after at most 4 s, finished or
 * not; the file is finished a moment after stop (KMS's end-of-stream), so releasing the recorder or its
 * pipeline before then, or while recording, leaves it unfinished; and with the WEBM profile nothing is
 * written until both audio and video flow (a type that never flows leaves a file without media).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { RtpHeader, RtpPacket } from 'werift';
import { KMS_STOP_AND_WAIT_TIMEOUT_MS } from '../config.js';
import { KurentoError } from '../protocol/KurentoError.js';
import type { ParamReader } from '../protocol/ParamReader.js';
import { RECORDING_PROFILES, UnsupportedError, WebmRecorder, type RecordingProfile } from '../recording/index.js';
import type { TrackInfo } from '../rtp/MediaTypes.js';
import { MediaElement } from './MediaElement.js';
import type { OperationTable } from './MediaObject.js';
import type { MediaPipeline } from './MediaPipeline.js';
import type { RuntimeContext } from './RuntimeContext.js';
import { filePathOf } from './UriEndpointPath.js';

type UriState = 'STOP' | 'START' | 'PAUSE';
/** KMS-faithful: how long after stop the file is finished (the end-of-stream crossing KMS's pipeline). */
const KMS_STOP_LATENCY_MS = 1000;

export class RecorderEndpoint extends MediaElement {
  readonly uri: string;
  readonly #path: string;
  readonly #profile: RecordingProfile;
  readonly #stopOnEndOfStream: boolean;
  #recorder: WebmRecorder | undefined;
  #state: UriState = 'STOP';
  #stopping: Promise<void> | undefined;
  /** KMS-faithful: the recorder could not write (record() still succeeded). */
  #failed = false;
  /** KMS-faithful, WEBM profile: the kinds seen since record(); media is written once both have. */
  readonly #seen = new Set<string>();

  constructor(id: string, pipeline: MediaPipeline, context: RuntimeContext, params: ParamReader) {
    super(id, 'RecorderEndpoint', pipeline, context);
    this.uri = params.string('uri');
    this.#path = filePathOf(this.uri, context.config.fileRoot);
    this.#profile = profileOf(params.optionalString('mediaProfile') ?? 'WEBM');
    this.#stopOnEndOfStream = params.optionalBoolean('stopOnEndOfStream') ?? false;
  }

  override consume(packet: RtpPacket, track: TrackInfo): void {
    this.countIn(track.kind);
    if (this.#state !== 'START' || !this.#recorder) return;
    if (this.#faithful && (this.#profile === 'WEBM' || this.#profile === 'MKV') && this.#seen.size < 2) {
      this.#seen.add(track.kind);
      if (this.#seen.size < 2) return;
      this.requestKeyframeUpstream();
    }
    const { payloadType, sequenceNumber, timestamp, ssrc, marker } = packet.header;
    const own = new RtpPacket(new RtpHeader({ payloadType, sequenceNumber, timestamp, ssrc, marker }), packet.payload);
    this.#recorder.writeRtp(own, track);
  }

  override sourceEnded(): void {
    if (this.#stopOnEndOfStream && this.#state !== 'STOP') void this.#stop().catch(() => undefined);
  }

  get #faithful(): boolean {
    return this.context.config.kmsFaithful;
  }

  async #record(): Promise<void> {
    if (this.#state === 'START') return;
    if (this.#state === 'PAUSE' && this.#recorder) {
      this.#recorder.resume();
      this.#setState('START', 'Recording');
      return;
    }
    await this.#stopping;
    const recorder = new WebmRecorder({
      path: this.#path,
      profile: this.#profile,
      requestKeyframe: () => this.requestKeyframeUpstream(),
    });
    recorder.on('error', (err) => {
      this.#failed = true;
      this.emitError('RESOURCE_ERROR_WRITE', `Recording to ${this.uri} failed: ${err.message}`);
    });
    this.#recorder = recorder;
    this.#seen.clear();
    try {
      await recorder.start();
    } catch (err) {
      this.#recorder = undefined;
      recorder.close();
      const message = `Cannot record to ${this.uri}: ${err instanceof Error ? err.message : String(err)}`;
      if (this.#faithful) {
        // KMS accepts record() and reports the failure later, as an event only.
        this.#failed = true;
        this.#state = 'START';
        setImmediate(() => this.emitError('RESOURCE_ERROR_OPEN_WRITE', message));
        return;
      }
      this.emitError('RESOURCE_ERROR_OPEN_WRITE', message);
      throw new KurentoError('MEDIA_OBJECT_ILLEGAL_PARAM_ERROR', message);
    }
    if (this.closed) return void recorder.close();
    this.#setState('START', 'Recording');
  }

  #pause(): void {
    if (this.#state !== 'START' || !this.#recorder) return;
    this.#recorder.pause();
    this.#setState('PAUSE', 'Paused');
  }

  /** Finishes the file (duration and cues); Stopped is emitted once it is written. */
  #stop(): Promise<void> {
    const recorder = this.#recorder;
    if (this.#faithful && this.#failed && this.#state !== 'STOP') {
      // KMS: the end of stream never reaches a failed recorder; stop waits for nothing, stopAndWait times out.
      this.#state = 'STOP';
      this.#recorder = undefined;
      recorder?.close();
      this.#stopping = sleep(KMS_STOP_AND_WAIT_TIMEOUT_MS, undefined, { ref: false });
      return this.#stopping;
    }
    if (!recorder || this.#state === 'STOP') return this.#stopping ?? Promise.resolve();
    this.#state = 'STOP';
    const finished = this.#faithful
      ? sleep(KMS_STOP_LATENCY_MS, undefined, { ref: false }).then(() =>
          this.closed ? Promise.reject(new Error('released before its stop completed')) : recorder.stop(),
        )
      : recorder.stop();
    this.#stopping = finished.then(
      () => this.#setState('STOP', 'Stopped'),
      (err: unknown) => {
        this.emitError(
          'RESOURCE_ERROR_WRITE',
          `Finishing ${this.uri} failed: ${err instanceof Error ? err.message : String(err)}`,
        );
        this.#setState('STOP', 'Stopped');
      },
    );
    return this.#stopping;
  }

  #setState(state: UriState, event: 'Recording' | 'Paused' | 'Stopped'): void {
    this.#state = state;
    this.emitEvent('UriEndpointStateChanged', { state });
    this.emitEvent(event);
  }

  protected override operations(): OperationTable {
    return {
      ...super.operations(),
      record: () => this.#record(),
      pause: () => this.#pause(),
      stop: () => void this.#stop(),
      stopAndWait: () =>
        this.#faithful
          ? Promise.race([this.#stop(), sleep(KMS_STOP_AND_WAIT_TIMEOUT_MS, undefined, { ref: false })])
          : this.#stop(),
      getUri: () => this.uri,
      getState: () => this.#state,
    };
  }

  protected override onClose(): void {
    const recorder = this.#recorder;
    this.#recorder = undefined;
    if (this.#faithful) {
      recorder?.close(); // KMS: whatever the end of stream has not reached yet stays unfinished
    } else if (recorder && (this.#state === 'START' || this.#state === 'PAUSE')) {
      recorder.stop().catch(() => recorder.close());
    } else if (recorder && !this.#stopping) {
      recorder.close();
    }
    super.onClose();
  }
}

function profileOf(name: string): RecordingProfile {
  try {
    return WebmRecorder.checkProfile(name);
  } catch (err) {
    if (!(err instanceof UnsupportedError)) throw err;
    throw new KurentoError(
      'MEDIA_OBJECT_ILLEGAL_PARAM_ERROR',
      `Media profile '${name}' is not supported: this engine records ${RECORDING_PROFILES.join(', ')}`,
    );
  }
}

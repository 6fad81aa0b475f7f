/**
 * Records what its sources send into a WebM file (the recording module's WebmRecorder): record,
 * pause, stop / stopAndWait with Kurento's state events. Only file:// URIs; WEBM, WEBM_AUDIO_ONLY and
 * WEBM_VIDEO_ONLY profiles. Releasing a recorder that is still recording finishes the file first.
 */
import { RtpHeader, RtpPacket } from 'werift';
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

export class RecorderEndpoint extends MediaElement {
  readonly uri: string;
  readonly #path: string;
  readonly #profile: RecordingProfile;
  readonly #stopOnEndOfStream: boolean;
  #recorder: WebmRecorder | undefined;
  #state: UriState = 'STOP';
  #stopping: Promise<void> | undefined;

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
    const { payloadType, sequenceNumber, timestamp, ssrc, marker } = packet.header;
    const own = new RtpPacket(new RtpHeader({ payloadType, sequenceNumber, timestamp, ssrc, marker }), packet.payload);
    this.#recorder.writeRtp(own, track);
  }

  override sourceEnded(): void {
    if (this.#stopOnEndOfStream && this.#state !== 'STOP') void this.#stop().catch(() => undefined);
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
    recorder.on('error', (err) =>
      this.emitError('RESOURCE_ERROR_WRITE', `Recording to ${this.uri} failed: ${err.message}`),
    );
    this.#recorder = recorder;
    try {
      await recorder.start();
    } catch (err) {
      this.#recorder = undefined;
      recorder.close();
      const message = `Cannot record to ${this.uri}: ${err instanceof Error ? err.message : String(err)}`;
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
    if (!recorder || this.#state === 'STOP') return this.#stopping ?? Promise.resolve();
    this.#state = 'STOP';
    this.#stopping = recorder.stop().then(
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
      stopAndWait: () => this.#stop(),
      getUri: () => this.uri,
      getState: () => this.#state,
    };
  }

  protected override onClose(): void {
    const recorder = this.#recorder;
    this.#recorder = undefined;
    if (recorder && (this.#state === 'START' || this.#state === 'PAUSE')) {
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

/**
 * Plays a WebM file into the pipeline (the recording module's WebmPlayer): play, pause, stop,
 * EndOfStream. Only file:// URIs. The file is probed when the endpoint is created, so that viewers
 * negotiated before play() already pick its video codec; a missing or invalid file fails play().
 */
import { KurentoError } from '../protocol/KurentoError.js';
import type { ParamReader } from '../protocol/ParamReader.js';
import { WebmPlayer } from '../recording/index.js';
import type { CodecName, MediaKind } from '../rtp/MediaTypes.js';
import { MEDIA_KINDS } from '../rtp/MediaTypes.js';
import { MediaElement } from './MediaElement.js';
import type { OperationTable } from './MediaObject.js';
import type { MediaPipeline } from './MediaPipeline.js';
import type { RuntimeContext } from './RuntimeContext.js';
import { filePathOf } from './UriEndpointPath.js';

type UriState = 'STOP' | 'START' | 'PAUSE';

export class PlayerEndpoint extends MediaElement {
  readonly uri: string;
  readonly #opening: Promise<WebmPlayer>;
  #player: WebmPlayer | undefined;
  #state: UriState = 'STOP';

  constructor(id: string, pipeline: MediaPipeline, context: RuntimeContext, params: ParamReader) {
    super(id, 'PlayerEndpoint', pipeline, context);
    this.uri = params.string('uri');
    const path = filePathOf(this.uri, context.config.fileRoot);
    params.optionalBoolean('useEncodedMedia');
    params.optionalInteger('networkCache');
    this.#opening = WebmPlayer.open(path);
    this.#opening.then(
      (player) => (this.closed ? player.close() : this.#adopt(player)),
      () => undefined,
    );
  }

  override videoCodec(): CodecName | undefined {
    return this.#player?.tracks.find((t) => t.kind === 'video')?.codec;
  }

  #adopt(player: WebmPlayer): void {
    this.#player = player;
    player.on('rtp', (packet, track) => {
      const kind: MediaKind = track.kind;
      this.countOut(kind);
      this.forward(kind, packet, { kind, codec: track.codec, clockRate: track.clockRate });
    });
    player.on('end', () => {
      this.#setState('STOP');
      this.emitEvent('EndOfStream');
      for (const kind of MEDIA_KINDS) for (const sink of this.sinksOf(kind)) sink.sourceEnded(this);
    });
    player.on('error', (err) => {
      this.#setState('STOP');
      this.emitError('RESOURCE_ERROR_READ', err.message);
    });
  }

  async #play(): Promise<void> {
    let player: WebmPlayer;
    try {
      player = await this.#opening;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.emitError('RESOURCE_ERROR_OPEN_READ', message);
      throw new KurentoError('MEDIA_OBJECT_ILLEGAL_PARAM_ERROR', message);
    }
    if (this.closed) return;
    player.play();
    this.#setState('START');
  }

  #setState(state: UriState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emitEvent('UriEndpointStateChanged', { state });
  }

  protected override operations(): OperationTable {
    return {
      ...super.operations(),
      play: () => this.#play(),
      pause: () => {
        this.#player?.pause();
        if (this.#state === 'START') this.#setState('PAUSE');
      },
      stop: () => {
        this.#player?.stop();
        this.#setState('STOP');
      },
      getUri: () => this.uri,
      getState: () => this.#state,
      getPosition: () => 0,
      setPosition: () => {
        throw new KurentoError('PLAYER_SEEK_FAIL', 'Seeking is not supported by this engine');
      },
      getVideoInfo: () => {
        const video = this.#player?.tracks.find((t) => t.kind === 'video');
        return {
          __module__: 'kurento',
          __type__: 'VideoInfo',
          isSeekable: false,
          seekableInit: 0,
          seekableEnd: 0,
          duration: this.#player?.durationMs ?? 0,
          width: video?.width ?? 0,
          height: video?.height ?? 0,
        };
      },
      getElementGstreamerDot: () => `digraph "${this.id}" {}`,
    };
  }

  protected override onClose(): void {
    this.#player?.close();
    this.#player = undefined;
    super.onClose();
  }
}

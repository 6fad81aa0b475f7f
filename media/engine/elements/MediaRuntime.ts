/**
 * Owns the pipelines of one process and everything in them: creates objects by type, routes
 * operations to them, releases them, and drives one flow ticker for all elements while any exist.
 */
import { EventEmitter } from 'node:events';
import { RTCDtlsTransport } from 'werift';
import type { EngineConfig } from '../config.js';
import type { Params } from '../protocol/JsonRpc.js';
import { KurentoError } from '../protocol/KurentoError.js';
import { KurentoIds, isElementType, type ElementType, type ObjectType } from '../protocol/KurentoModel.js';
import { ParamReader } from '../protocol/ParamReader.js';
import { processHandles } from '../workers/MediaHost.js';
import type { MediaElement } from './MediaElement.js';
import type { MediaObject } from './MediaObject.js';
import { MediaPipeline } from './MediaPipeline.js';
import { PassThrough } from './PassThrough.js';
import type { RuntimeContext } from './RuntimeContext.js';
import { DtlsAdmission } from '../rtp/DtlsAdmission.js';
import { WebRtcEndpoint } from './WebRtcEndpoint.js';
import { RecorderEndpoint } from './RecorderEndpoint.js';
import { PlayerEndpoint } from './PlayerEndpoint.js';
import { RtpEndpoint } from './RtpEndpoint.js';
import { RelayHub } from '../relay/RelayHub.js';
import { useNativeX25519 } from '../rtp/NativeX25519.js';

export interface RuntimeEvents {
  event: [objectId: string, type: string, data: Params];
  released: [objectIds: string[]];
}

export interface RuntimeStats {
  pipelines: number;
  elements: number;
  webRtcEndpoints: number;
  udpSockets: number;
  timers: number;
  relaySinks: number;
  relaySources: number;
  relayedOut: number;
  relayedIn: number;
  relayNacks: number;
}

type ElementFactory = (
  id: string,
  pipeline: MediaPipeline,
  context: RuntimeContext,
  params: ParamReader,
) => MediaElement;

const FACTORIES: Record<ElementType, ElementFactory> = {
  WebRtcEndpoint: (id, pipeline, context, params) => new WebRtcEndpoint(id, pipeline, context, params),
  RtpEndpoint: (id, pipeline, context, params) => new RtpEndpoint(id, pipeline, context, params),
  RecorderEndpoint: (id, pipeline, context, params) => new RecorderEndpoint(id, pipeline, context, params),
  PlayerEndpoint: (id, pipeline, context, params) => new PlayerEndpoint(id, pipeline, context, params),
  PassThrough: (id, pipeline, context) => new PassThrough(id, pipeline, context),
};

const TICK_MS = 1000;

export class MediaRuntime extends EventEmitter<RuntimeEvents> implements RuntimeContext {
  readonly #pipelines = new Map<string, MediaPipeline>();
  /** The relays between this runtime's pipelines and their copies in other workers. */
  readonly relays = new RelayHub(this, (id) => this.#pipelines.get(id));
  #ticker: NodeJS.Timeout | undefined;
  #closed = false;
  readonly dtlsAdmission: DtlsAdmission;

  constructor(readonly config: EngineConfig) {
    super();
    this.dtlsAdmission = new DtlsAdmission(config.dtlsConcurrency);
  }

  /** Creates the DTLS certificate all endpoints share now rather than during the first join; X25519 from OpenSSL. */
  static async prepare(): Promise<void> {
    useNativeX25519();
    await RTCDtlsTransport.SetupCertificate();
  }

  /** Placement weight: the pipelines and elements this runtime carries. */
  get load(): number {
    let n = this.#pipelines.size;
    for (const pipeline of this.#pipelines.values()) n += pipeline.size;
    return n;
  }

  create(id: string, type: ObjectType, constructorParams: Params): void {
    if (this.#closed) throw new KurentoError('NOT_ENOUGH_RESOURCES', 'Media host is closing');
    if (type === 'MediaPipeline') {
      this.#pipelines.set(id, new MediaPipeline(id, this));
      this.#startTicker();
      return;
    }
    if (!isElementType(type)) throw new KurentoError('MEDIA_OBJECT_TYPE_NOT_FOUND', `Factory '${type}' not found`);
    const params = new ParamReader(constructorParams);
    const pipelineId = params.string('mediaPipeline');
    const pipeline = this.#pipelines.get(pipelineId);
    if (!pipeline) throw new KurentoError('MEDIA_OBJECT_NOT_FOUND', `Object '${pipelineId}' not found`);
    pipeline.adopt(FACTORIES[type](id, pipeline, this, params));
  }

  async invoke(id: string, operation: string, params: Params): Promise<unknown> {
    return this.#lookup(id).invoke(operation, params);
  }

  release(id: string): void {
    const object = this.#find(id);
    if (!object) return;
    object.close();
    if (object instanceof MediaPipeline) {
      this.#pipelines.delete(id);
      this.relays.closePipeline(id);
    }
    if (this.#pipelines.size === 0) this.#stopTicker();
  }

  stats(): RuntimeStats {
    let elements = 0;
    let webRtcEndpoints = 0;
    for (const pipeline of this.#pipelines.values()) {
      for (const element of pipeline.elements()) {
        elements += 1;
        if (element instanceof WebRtcEndpoint) webRtcEndpoints += 1;
      }
    }
    return { pipelines: this.#pipelines.size, elements, webRtcEndpoints, ...processHandles(), ...this.relays.stats() };
  }

  /** Releases everything; safe to call more than once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.relays.close();
    this.dtlsAdmission.close();
    for (const pipeline of this.#pipelines.values()) pipeline.close();
    this.#pipelines.clear();
    this.#stopTicker();
  }

  emitEvent(objectId: string, type: string, data: Params): void {
    this.emit('event', objectId, type, data);
  }

  selfReleased(objectIds: string[]): void {
    for (const id of objectIds) this.release(id);
    this.emit('released', objectIds);
  }

  #find(id: string): MediaObject | undefined {
    const pipelineId = KurentoIds.pipelineOf(id);
    if (!pipelineId) return undefined;
    const pipeline = this.#pipelines.get(pipelineId);
    return pipelineId === id ? pipeline : pipeline?.element(id);
  }

  #lookup(id: string): MediaObject {
    const object = this.#find(id);
    if (!object) throw new KurentoError('MEDIA_OBJECT_NOT_FOUND', `Object '${id}' not found`);
    return object;
  }

  #startTicker(): void {
    this.#ticker ??= setInterval(() => {
      for (const pipeline of this.#pipelines.values()) {
        for (const element of pipeline.elements()) element.tick();
      }
    }, TICK_MS);
  }

  #stopTicker(): void {
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }
}

import { MediaError } from './errors.js';
import {
  createElement,
  invoke,
  listen,
  release,
  toKurentoCandidate,
  type IceCandidateInit,
  type KurentoObject,
  type KurentoPipeline,
  type MediaType,
} from './kurento.js';
import { SafeEmitter } from './SafeEmitter.js';
import { validateOffer, type SdpRole } from './sdp.js';

export interface EndpointEvents {
  /** A local ICE candidate to hand to the browser. */
  candidate: [IceCandidateInit];
  /** Every local candidate has been found (Kurento's `IceGatheringDone`). */
  gatheringDone: [];
  /** Media of this type started or stopped flowing into the endpoint (from the browser). */
  flowIn: [MediaType, boolean];
  /** The media server reported an error on this endpoint (asynchronous `Error` event). */
  failed: [description: string];
  /** The endpoint is gone (released, or its pipeline is). */
  closed: [];
}

/** Video bitrate bounds of the media server's endpoints, in kbps. */
export interface VideoBandwidth {
  minKbps: number;
  maxKbps: number;
}

/** TURN/STUN settings applied to a media-server endpoint. */
export interface EndpointIce {
  stunAddress?: string;
  stunPort?: number;
  /** Kurento's `user:password@host:port` form. */
  turnUrl?: string;
}

/**
 * One WebRtcEndpoint on the media server and its browser peer: a presenter's (sends, and gets its own stream
 * back) or a viewer's (receives only). Candidates are accepted only once the offer has been processed; the
 * signalling layer queues earlier ones (IceCandidateQueue) and drains them with `addCandidate`.
 */
export class Endpoint extends SafeEmitter<EndpointEvents> {
  readonly role: SdpRole;
  readonly #kurento: KurentoObject;
  #offerProcessed = false;
  #gatheringDone = false;
  #closed = false;

  private constructor(role: SdpRole, kurento: KurentoObject) {
    super();
    this.role = role;
    this.#kurento = kurento;
    listen(kurento, 'IceCandidateFound', (ev) => this.safeEmit('candidate', normaliseCandidate(ev.candidate)));
    listen(kurento, 'IceGatheringDone', () => {
      this.#gatheringDone = true;
      this.safeEmit('gatheringDone');
    });
    listen(kurento, 'MediaFlowInStateChanged', (ev) => this.safeEmit('flowIn', ev.mediaType, ev.state === 'FLOWING'));
    listen(kurento, 'Error', (ev) => this.safeEmit('failed', `${ev.type ?? 'error'}: ${ev.description ?? ''}`));
  }

  /**
   * Create the endpoint in a pipeline. A viewer's endpoint is created receive-only on the server's side too.
   * Bandwidth bounds are set before any negotiation (Kurento applies them from the SDP exchange on): a presenter's
   * endpoint takes up to `maxKbps` of video from the browser (REMB and `b=AS`) and sends its loopback preview within
   * the bounds; a viewer's endpoint sends within the bounds (Kurento's own default cap is 500 kbps).
   */
  static async create(
    pipeline: KurentoPipeline,
    role: SdpRole,
    ice: EndpointIce = {},
    bandwidth?: VideoBandwidth,
  ): Promise<Endpoint> {
    let kurento: KurentoObject;
    try {
      // kurento-client's promise is a thenable: awaited, not chained.
      kurento = await createElement(pipeline, 'WebRtcEndpoint', role === 'viewer' ? { sendonly: true } : {});
    } catch (error) {
      if (!isCapacity(error)) throw error;
      throw new MediaError('server.capacity', `the media server is at capacity: ${(error as Error).message}`);
    }
    const endpoint = new Endpoint(role, kurento);
    try {
      if (bandwidth) {
        if (role === 'presenter') await invoke(kurento, 'setMaxVideoRecvBandwidth', bandwidth.maxKbps);
        await invoke(kurento, 'setMinVideoSendBandwidth', bandwidth.minKbps);
        await invoke(kurento, 'setMaxVideoSendBandwidth', bandwidth.maxKbps);
      }
      if (ice.stunAddress) await invoke(kurento, 'setStunServerAddress', ice.stunAddress);
      if (ice.stunPort) await invoke(kurento, 'setStunServerPort', ice.stunPort);
      if (ice.turnUrl) await invoke(kurento, 'setTurnUrl', ice.turnUrl);
    } catch (error) {
      await endpoint.close();
      throw error;
    }
    return endpoint;
  }

  /** The media server's id of this endpoint. */
  get id(): string {
    return this.#kurento.id;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The underlying media-server object, to connect other elements to it. */
  get kurento(): KurentoObject {
    return this.#kurento;
  }

  /** Check the browser's offer for this role, process it, start gathering; resolves with the SDP answer. */
  async processOffer(offer: unknown): Promise<string> {
    const sdp = validateOffer(offer, this.role);
    this.#assertOpen();
    let answer: string;
    try {
      answer = await invoke<string>(this.#kurento, 'processOffer', sdp);
    } catch (error) {
      throw new MediaError('sdp.invalid', `the media server refused the offer: ${(error as Error).message}`);
    }
    this.#assertOpen();
    this.#offerProcessed = true;
    await invoke(this.#kurento, 'gatherCandidates');
    return answer;
  }

  /** Whether every local candidate has been found (and emitted as `candidate`). */
  get gatheringDone(): boolean {
    return this.#gatheringDone;
  }

  get acceptsCandidates(): boolean {
    return this.#offerProcessed && !this.#closed;
  }

  /** Add a browser ICE candidate (after the offer was processed). */
  async addCandidate(candidate: IceCandidateInit): Promise<void> {
    if (!this.acceptsCandidates) throw new MediaError('ice.invalid', 'the endpoint does not take candidates yet');
    try {
      await invoke(this.#kurento, 'addIceCandidate', toKurentoCandidate(candidate));
    } catch (error) {
      throw new MediaError('ice.invalid', `the media server refused the candidate: ${(error as Error).message}`);
    }
  }

  /** Send this endpoint's media to a sink (another endpoint, itself, a recorder). */
  async connect(sink: KurentoObject, mediaType?: MediaType): Promise<void> {
    this.#assertOpen();
    await (mediaType ? invoke(this.#kurento, 'connect', sink, mediaType) : invoke(this.#kurento, 'connect', sink));
  }

  /** Release the endpoint on the media server. Idempotent; a release error is returned, not thrown. */
  async close(): Promise<Error | undefined> {
    if (this.#closed) return undefined;
    this.#markClosed();
    return release(this.#kurento);
  }

  /** The pipeline or the media server is gone: update local state only. Idempotent. */
  parentClosed(): void {
    if (!this.#closed) this.#markClosed();
  }

  #markClosed(): void {
    this.#closed = true;
    this.safeEmit('closed');
    this.removeAllListeners('candidate');
    this.removeAllListeners('gatheringDone');
    this.removeAllListeners('flowIn');
    this.removeAllListeners('failed');
  }

  #assertOpen(): void {
    if (this.#closed) throw new MediaError('closed', 'the media session was closed');
  }
}

function normaliseCandidate(raw: IceCandidateInit): IceCandidateInit {
  return { candidate: raw.candidate, sdpMid: raw.sdpMid ?? null, sdpMLineIndex: raw.sdpMLineIndex ?? null };
}

/** Kurento's NOT_ENOUGH_RESOURCES (40009): the media server is full (the engine's ENGINE_MAX_ENDPOINTS). */
function isCapacity(error: unknown): boolean {
  const e = error as { code?: number; data?: { type?: string } } | undefined;
  return e?.code === 40009 || e?.data?.type === 'NOT_ENOUGH_RESOURCES';
}

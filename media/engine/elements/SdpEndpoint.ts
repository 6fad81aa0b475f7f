/**
 * What Kurento's SdpEndpoint and BaseRtpEndpoint give every endpoint negotiated with SDP (here the
 * WebRtcEndpoint and the RtpEndpoint): the offer/answer state machine and its errors, one SDP
 * operation at a time in arrival order, the session descriptors, the bandwidth and MTU properties
 * (a getter and a setter each, remembering which ones the client set), the video send limit those
 * properties and the remote's REMB make, and the media and connection states.
 *
 * A subclass does the negotiation itself (`createOffer`, `answerOffer`, `applyAnswer`): it records
 * `localSdp`, `remoteSdp` and `negotiation` as it goes, since where it does so matters to it.
 */
import type { Params } from '../protocol/JsonRpc.js';
import { KurentoError } from '../protocol/KurentoError.js';
import type { ElementType } from '../protocol/KurentoModel.js';
import type { ParamReader } from '../protocol/ParamReader.js';
import type { CodecName } from '../rtp/MediaTypes.js';
import { BANDWIDTH_DEFAULTS, rembBps, videoSendLimitBps, type BandwidthProps } from '../rtp/Bandwidth.js';
import { MediaElement } from './MediaElement.js';
import type { OperationTable } from './MediaObject.js';
import type { MediaPipeline } from './MediaPipeline.js';
import type { RuntimeContext } from './RuntimeContext.js';

export type Negotiation = 'none' | 'offer-generated' | 'negotiated';
export type ConnectionState = 'CONNECTED' | 'DISCONNECTED';

/** The properties every SDP endpoint has; a subclass adds its own (numbers, booleans or strings). */
export type SdpEndpointProps = BandwidthProps & { mtu: number };
type PropValue = number | boolean | string;

export const SDP_ENDPOINT_DEFAULTS: SdpEndpointProps = { ...BANDWIDTH_DEFAULTS, mtu: 1200 };

export abstract class SdpEndpoint<P extends SdpEndpointProps> extends MediaElement {
  protected readonly props: P;
  protected negotiation: Negotiation = 'none';
  protected localSdp: string | undefined;
  protected remoteSdp: string | undefined;
  /** The latest REMB estimate of the remote peer for the video this endpoint sends (bps). */
  protected remoteRembBps: number | undefined;
  /** Properties the client set itself (the normal mode honours only those bandwidths). */
  readonly #explicit = new Set<string>();
  #serial: Promise<unknown> = Promise.resolve();

  protected constructor(id: string, type: ElementType, pipeline: MediaPipeline, context: RuntimeContext, props: P) {
    super(id, type, pipeline, context);
    this.props = props;
  }

  /** generateOffer, once the state allows it: returns the local SDP. */
  protected abstract createOffer(options: Params | undefined): Promise<string>;
  /** processOffer, once the state allows it: returns the local SDP (the answer). */
  protected abstract answerOffer(offer: string): Promise<string>;
  /** processAnswer, once an offer was generated and no answer processed. */
  protected abstract applyAnswer(answer: string): Promise<void>;
  protected abstract mediaState(): ConnectionState;
  protected abstract connectionState(): ConnectionState;

  /** A remote SDP's first check, before the negotiation state is (a WebRtcEndpoint's is stricter than KMS's parse). */
  protected checkSdp(_sdp: string, _what: 'offer' | 'answer'): void {}

  /** The local SDP as getLocalSessionDescriptor gives it (a subclass may give a fresher one). */
  protected localDescriptor(local: string): string {
    return local;
  }

  /**
   * What this endpoint lets its video source send it, in bps (undefined: no limit): the remote peer's
   * REMB estimate within [minVideoSendBandwidth, maxVideoSendBandwidth] (0 = unlimited), as KMS does.
   * The normal mode applies only a maxVideoSendBandwidth the client set, not KMS's 500 kbps default.
   */
  override videoSendLimitBps(): number | undefined {
    return videoSendLimitBps(this.props, {
      kmsFaithful: this.context.config.kmsFaithful,
      maxSetByClient: this.#explicit.has('maxVideoSendBandwidth'),
      remoteRembBps: this.remoteRembBps,
    });
  }

  /**
   * The REMB for the peer whose video this endpoint receives: the lowest limit of the sinks it feeds (KMS's
   * REMB propagation), capped by maxVideoRecvBandwidth, never below minVideoRecvBandwidth (nor 30 kbps).
   */
  protected rembToSend(): number | undefined {
    return rembBps(this.props, this.downstreamVideoLimitBps());
  }

  /** The video codec to negotiate: the one the source sends, else the one a sink already takes. */
  protected preferredVideoCodec(): CodecName | undefined {
    const upstream = this.sourceOf('video')?.videoCodec();
    if (upstream) return upstream;
    for (const sink of this.sinksOf('video')) {
      const codec = sink.videoCodec();
      if (codec) return codec;
    }
    return undefined;
  }

  protected assertOpen(): void {
    if (this.closed) throw new KurentoError('MEDIA_OBJECT_NOT_FOUND', `Object '${this.id}' was released`);
  }

  /** Runs SDP (and candidate) operations one at a time, in arrival order. */
  protected inOrder<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#serial.then(task, task);
    this.#serial = run.catch(() => undefined);
    return run;
  }

  protected override operations(): OperationTable {
    const props = this.props as unknown as Record<string, PropValue>;
    const accessors: OperationTable = {};
    for (const key of Object.keys(props)) {
      const name = key.charAt(0).toUpperCase() + key.slice(1);
      accessors[`get${name}`] = () => props[key];
      accessors[`set${name}`] = (p: ParamReader) => {
        const current = props[key];
        props[key] =
          typeof current === 'number' ? p.integer(key) : typeof current === 'boolean' ? p.boolean(key) : p.string(key);
        this.#explicit.add(key);
      };
    }
    return {
      ...super.operations(),
      ...accessors,
      generateOffer: (p) => {
        const options = p.optionalObject('options');
        return this.inOrder(() => {
          this.#assertNotNegotiated();
          return this.createOffer(options);
        });
      },
      processOffer: (p) => {
        if (!p.has('offer')) throw new KurentoError('SDP_PARSE_ERROR', 'SDP offer is required');
        const offer = p.string('offer');
        return this.inOrder(() => {
          this.checkSdp(offer, 'offer');
          this.#assertNotNegotiated();
          return this.answerOffer(offer);
        });
      },
      processAnswer: (p) => {
        if (!p.has('answer')) throw new KurentoError('SDP_PARSE_ERROR', 'SDP answer is required');
        const answer = p.string('answer');
        return this.inOrder(async () => {
          this.checkSdp(answer, 'answer');
          if (this.negotiation === 'negotiated') {
            throw new KurentoError('SDP_END_POINT_ANSWER_ALREADY_PROCCESED', 'Answer already processed');
          }
          if (this.negotiation !== 'offer-generated') {
            throw new KurentoError('SDP_END_POINT_NOT_OFFER_GENERATED', 'No offer was generated');
          }
          await this.applyAnswer(answer);
          return this.localSdp ?? '';
        });
      },
      getLocalSessionDescriptor: () => {
        if (!this.localSdp) throw new KurentoError('SDP_END_POINT_NO_LOCAL_SDP_ERROR', 'No local SDP yet');
        return this.localDescriptor(this.localSdp);
      },
      getRemoteSessionDescriptor: () => {
        if (!this.remoteSdp) throw new KurentoError('SDP_END_POINT_NO_REMOTE_SDP_ERROR', 'No remote SDP yet');
        return this.remoteSdp;
      },
      requestKeyframe: () => this.requestKeyframe(),
      getMediaState: () => this.mediaState(),
      getConnectionState: () => this.connectionState(),
      getRembParams: () => ({ __module__: 'kurento', __type__: 'RembParams' }),
      setRembParams: (p) => void p.object('rembParams'),
    };
  }

  #assertNotNegotiated(): void {
    if (this.negotiation !== 'none') {
      throw new KurentoError('SDP_END_POINT_ALREADY_NEGOTIATED', 'Endpoint already negotiated');
    }
  }
}

/** An error's message for a KurentoError's description. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}

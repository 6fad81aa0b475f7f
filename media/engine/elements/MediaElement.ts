/**
 * A node of a pipeline's media graph. A source forwards each packet of a kind to every sink connected
 * for that kind; a sink has at most one source per kind (connecting another replaces it, as in KMS).
 * Every source keeps its current video GOP (GopCache): a sink that becomes able to send (a viewer's
 * DTLS up, a relay's link) primes itself from it, and asks for a keyframe only when there is none.
 * Sinks ask their video source for keyframes; flow state is sampled by the runtime's ticker.
 */
import type { RtpPacket } from 'werift';
import { KurentoError } from '../protocol/KurentoError.js';
import type { ElementType } from '../protocol/KurentoModel.js';
import type { ParamReader } from '../protocol/ParamReader.js';
import { DEFAULT_GOP_BOUNDS, GopCache } from '../rtp/GopCache.js';
import {
  KURENTO_MEDIA_TYPES,
  MEDIA_KINDS,
  kindsOf,
  kurentoMediaType,
  type MediaKind,
  type TrackInfo,
} from '../rtp/MediaTypes.js';
import { MediaObject, type OperationTable } from './MediaObject.js';
import type { MediaPipeline } from './MediaPipeline.js';
import type { RuntimeContext } from './RuntimeContext.js';

type FlowState = 'FLOWING' | 'NOT_FLOWING';
/** Ticks without packets before a flowing direction is reported NOT_FLOWING. */
const IDLE_TICKS = 2;
/** A sink primed from a GOP longer than this asks for a fresh keyframe, so that the next ones get a short one. */
const GOP_REFRESH_MS = 1000;
/**
 * GOP bytes a source replays to new sinks per window: when many join at once, the ones past it are not primed
 * (their first frame is the keyframe the first ones asked for), so that the replays never stall the fan-out.
 */
const REPLAY_BUDGET_BYTES = 1024 * 1024;
const REPLAY_WINDOW_MS = 250;

class FlowMeter {
  packets = 0;
  #seen = 0;
  #idle = 0;
  state: FlowState = 'NOT_FLOWING';

  /** Returns the new state when it changed since the last tick. */
  tick(): FlowState | undefined {
    const moved = this.packets !== this.#seen;
    this.#seen = this.packets;
    if (moved) {
      this.#idle = 0;
      if (this.state === 'FLOWING') return undefined;
      this.state = 'FLOWING';
      return this.state;
    }
    if (this.state === 'NOT_FLOWING' || ++this.#idle < IDLE_TICKS) return undefined;
    this.state = 'NOT_FLOWING';
    return this.state;
  }
}

export abstract class MediaElement extends MediaObject {
  readonly #sources = new Map<MediaKind, MediaElement>();
  readonly #sinks: Record<MediaKind, Set<MediaElement>> = { audio: new Set(), video: new Set() };
  readonly #flowIn: Record<MediaKind, FlowMeter> = { audio: new FlowMeter(), video: new FlowMeter() };
  readonly #flowOut: Record<MediaKind, FlowMeter> = { audio: new FlowMeter(), video: new FlowMeter() };
  #faulted = false;
  readonly #gop: GopCache;
  #replayWindowAt = 0;
  #replayedBytes = 0;

  protected constructor(
    id: string,
    type: ElementType,
    readonly pipeline: MediaPipeline,
    context: RuntimeContext,
  ) {
    super(id, type, context);
    this.#gop = new GopCache({ ...DEFAULT_GOP_BOUNDS, maxBytes: context.config.gopCacheBytes });
  }

  /** The element feeding this one with `kind`, if any. */
  sourceOf(kind: MediaKind): MediaElement | undefined {
    return this.#sources.get(kind);
  }

  sinksOf(kind: MediaKind): ReadonlySet<MediaElement> {
    return this.#sinks[kind];
  }

  /** Links this element's `kinds` to `sink`, replacing the sink's previous source of each kind. */
  connect(sink: MediaElement, kinds: MediaKind[]): void {
    for (const kind of kinds) {
      const previous = sink.#sources.get(kind);
      if (previous === this) continue;
      if (previous) previous.disconnect(sink, [kind]);
      this.#sinks[kind].add(sink);
      sink.#sources.set(kind, this);
      this.emitEvent('ElementConnected', connectionEvent(sink, kind));
      sink.onSourceConnected(kind, this);
    }
  }

  disconnect(sink: MediaElement, kinds: MediaKind[]): void {
    for (const kind of kinds) {
      if (sink.#sources.get(kind) !== this) continue;
      this.#sinks[kind].delete(sink);
      sink.#sources.delete(kind);
      this.emitEvent('ElementDisconnected', connectionEvent(sink, kind));
      sink.onSourceDisconnected(kind, this);
    }
  }

  /** Sends a packet this element produced to every sink of its kind. Sinks must not modify it. */
  protected forward(kind: MediaKind, packet: RtpPacket, track: TrackInfo): void {
    if (kind === 'video') this.#gop.push(packet, track);
    for (const sink of this.#sinks[kind]) {
      try {
        sink.consume(packet, track, this);
      } catch (err) {
        sink.#fault(err);
      }
    }
  }

  /**
   * Feeds this sink its video source's current GOP (sent through consume(), like live packets, which follow);
   * without a cached GOP, or with a long one, asks the source for a keyframe. Returns whether a GOP was sent.
   */
  protected primeVideoFromSource(): boolean {
    const source = this.#sources.get('video');
    if (!source) return false;
    const gop = source.#gop.replay();
    if (!gop || !source.#spendReplay(source.#gop.bytes)) {
      source.requestKeyframe();
      return false;
    }
    try {
      for (const packet of gop.packets) this.consume(packet, gop.track, source);
    } catch (err) {
      this.#fault(err);
    }
    // A browser presenter sends keyframes only when asked: keep the group new viewers get short.
    if (source.#gop.spanMs > GOP_REFRESH_MS) source.requestKeyframe();
    return true;
  }

  /** Takes `bytes` from this source's replay budget; false when the window's is spent (one replay always fits). */
  #spendReplay(bytes: number): boolean {
    const now = Date.now();
    if (now - this.#replayWindowAt >= REPLAY_WINDOW_MS) {
      this.#replayWindowAt = now;
      this.#replayedBytes = 0;
    }
    if (this.#replayedBytes > 0 && this.#replayedBytes + bytes > REPLAY_BUDGET_BYTES) return false;
    this.#replayedBytes += bytes;
    return true;
  }

  /** A sink that failed on a packet is reported once; the fan-out to the others goes on. */
  #fault(err: unknown): void {
    if (this.#faulted) return;
    this.#faulted = true;
    this.emitError(
      'MEDIA_FLOW_ERROR',
      `Media could not be handled: ${err instanceof Error ? err.message : String(err)}`,
    );
  }

  /** Counts a packet that entered this element (from its remote peer, file or source element). */
  protected countIn(kind: MediaKind): void {
    this.#flowIn[kind].packets += 1;
  }

  /** Counts a packet that left this element (to its remote peer or file, or to its sinks). */
  protected countOut(kind: MediaKind): void {
    this.#flowOut[kind].packets += 1;
  }

  /** Sets the outgoing packet count of `kind` (for elements that count in their own hot path). */
  protected setOutCount(kind: MediaKind, packets: number): void {
    this.#flowOut[kind].packets = packets;
  }

  /** A packet from this element's source of `track.kind`. */
  consume(_packet: RtpPacket, _track: TrackInfo, _source: MediaElement): void {}

  /** A source of this element reached its end (a player's EndOfStream). */
  sourceEnded(_source: MediaElement): void {}

  /** A sink wants a keyframe from this element's video. */
  requestKeyframe(): void {}

  /** Asks this element's video source for a keyframe. */
  protected requestKeyframeUpstream(): void {
    this.#sources.get('video')?.requestKeyframe();
  }

  /** The video bitrate this element, as a sink, lets its source send (bps); undefined: no limit of its own. */
  videoSendLimitBps(): number | undefined {
    return this.downstreamVideoLimitBps();
  }

  /** The lowest video limit of this element's video sinks (bps), undefined when none has one. */
  protected downstreamVideoLimitBps(depth = 0): number | undefined {
    if (depth > 8) return undefined;
    let limit: number | undefined;
    for (const sink of this.#sinks.video) {
      const own =
        sink.videoSendLimitBps !== MediaElement.prototype.videoSendLimitBps
          ? sink.videoSendLimitBps()
          : sink.downstreamVideoLimitBps(depth + 1);
      if (own !== undefined) limit = limit === undefined ? own : Math.min(limit, own);
    }
    return limit;
  }

  /** The video codec this element produces or needs, once known (drives the codec choice of sinks). */
  videoCodec(): TrackInfo['codec'] | undefined {
    return undefined;
  }

  protected onSourceConnected(kind: MediaKind, _source: MediaElement): void {
    if (kind === 'video') this.requestKeyframeUpstream();
  }

  /** Whether `source` holds a GOP a sink can prime from (primeVideoFromSource). */
  protected hasGop(source: MediaElement): boolean {
    return source.#gop.size > 0;
  }

  protected onSourceDisconnected(_kind: MediaKind, _source: MediaElement): void {}

  /** Called about once a second by the runtime: reports flow changes. */
  tick(): void {
    for (const kind of MEDIA_KINDS) {
      const inState = this.#flowIn[kind].tick();
      if (inState) this.emitEvent('MediaFlowInStateChanged', flowEvent(inState, kind));
      const outState = this.#flowOut[kind].tick();
      if (outState) this.emitEvent('MediaFlowOutStateChanged', flowEvent(outState, kind));
    }
  }

  protected override operations(): OperationTable {
    return {
      ...super.operations(),
      getMediaPipeline: () => this.pipeline.id,
      getParent: () => this.pipeline.id,
      connect: (p) => this.connect(this.#peer(p, 'sink'), this.#kinds(p)),
      disconnect: (p) => this.disconnect(this.#peer(p, 'sink'), this.#kinds(p)),
      getSourceConnections: (p) => this.#connections(p, 'source'),
      getSinkConnections: (p) => this.#connections(p, 'sink'),
      isMediaFlowingIn: (p) => this.#flowing(p, this.#flowIn),
      isMediaFlowingOut: (p) => this.#flowing(p, this.#flowOut),
      isMediaTranscoding: () => false,
      getStats: () => ({}),
      getGstreamerDot: () => `digraph "${this.id}" {}`,
      dumpGstreamerDot: () => undefined,
      setAudioFormat: () => undefined,
      setVideoFormat: () => undefined,
      getEncoderBitrate: () => 0,
      setEncoderBitrate: (p) => void p.integer('encoderBitrate'),
      getMinEncoderBitrate: () => 0,
      setMinEncoderBitrate: (p) => void p.integer('minEncoderBitrate'),
      getMaxEncoderBitrate: () => 0,
      setMaxEncoderBitrate: (p) => void p.integer('maxEncoderBitrate'),
    };
  }

  protected override onClose(): void {
    for (const [kind, source] of [...this.#sources]) source.disconnect(this, [kind]);
    for (const kind of MEDIA_KINDS) {
      for (const sink of [...this.#sinks[kind]]) this.disconnect(sink, [kind]);
    }
    this.pipeline.forget(this);
  }

  #peer(p: ParamReader, name: string): MediaElement {
    const id = p.string(name);
    const element = this.pipeline.element(id);
    if (!element) throw new KurentoError('MEDIA_OBJECT_NOT_FOUND', `Object '${id}' not found`);
    return element;
  }

  #kinds(p: ParamReader): MediaKind[] {
    return kindsOf(p.optionalOneOf('mediaType', KURENTO_MEDIA_TYPES));
  }

  #connections(p: ParamReader, side: 'source' | 'sink'): unknown[] {
    const kinds = this.#kinds(p);
    const out: unknown[] = [];
    for (const kind of kinds) {
      const pairs: [MediaElement, MediaElement][] =
        side === 'source'
          ? this.#sources.get(kind)
            ? [[this.#sources.get(kind)!, this]]
            : []
          : [...this.#sinks[kind]].map((sink) => [this, sink]);
      for (const [source, sink] of pairs) {
        out.push({
          source: source.id,
          sink: sink.id,
          type: kurentoMediaType(kind),
          sourceDescription: 'default',
          sinkDescription: 'default',
          __module__: 'kurento',
          __type__: 'ElementConnectionData',
        });
      }
    }
    return out;
  }

  #flowing(p: ParamReader, meters: Record<MediaKind, FlowMeter>): boolean {
    const kind = kindsOf(p.oneOf('mediaType', KURENTO_MEDIA_TYPES))[0];
    return kind ? meters[kind].state === 'FLOWING' : false;
  }
}

function connectionEvent(sink: MediaElement, kind: MediaKind) {
  return {
    sink: sink.id,
    mediaType: kurentoMediaType(kind),
    sourceMediaDescription: 'default',
    sinkMediaDescription: 'default',
  };
}

function flowEvent(state: FlowState, kind: MediaKind) {
  return { state, padName: 'default', mediaType: kurentoMediaType(kind) };
}

/**
 * The relays of one media host, driven by the server (Relays.ts): relay sinks of this host's sources towards other
 * hosts, and relay sources feeding this host's sinks from other hosts. Each relay belongs to a pipeline and closes
 * with it; one ticker sends the relay sources' bitrate feedback while any exist.
 */
import type { MediaElement } from '../elements/MediaElement.js';
import type { MediaPipeline } from '../elements/MediaPipeline.js';
import type { RuntimeContext } from '../elements/RuntimeContext.js';
import type { Params } from '../protocol/JsonRpc.js';
import { KurentoError } from '../protocol/KurentoError.js';
import { ParamReader } from '../protocol/ParamReader.js';
import { MEDIA_KINDS, type CodecName, type MediaKind } from '../rtp/MediaTypes.js';
import { RelaySink } from './RelaySink.js';
import { RelaySource } from './RelaySource.js';

/** What the server asks a host about relays. */
export type RelayOp = 'sourceOpen' | 'sinkOpen' | 'link' | 'unlink' | 'close';

const TICK_MS = 1000;

export class RelayHub {
  readonly #relays = new Map<string, RelaySink | RelaySource>();
  readonly #opening = new Map<string, Promise<RelaySink | RelaySource>>();
  /** Relays closed while they were being opened (their opening closes them at once). */
  readonly #closedIds = new Set<string>();
  #ticker: NodeJS.Timeout | undefined;

  constructor(
    private readonly context: RuntimeContext,
    private readonly pipelineOf: (id: string) => MediaPipeline | undefined,
  ) {}

  get size(): number {
    return this.#relays.size;
  }

  async run(op: RelayOp, raw: Params): Promise<Params | undefined> {
    const p = new ParamReader(raw);
    const relayId = p.string('relayId');
    switch (op) {
      case 'sourceOpen': {
        const pipeline = this.#pipeline(p.string('pipelineId'));
        const source = await this.#open(relayId, () => RelaySource.open(relayId, pipeline, this.context));
        if (!(source instanceof RelaySource)) throw new KurentoError('MEDIA_OBJECT_NOT_FOUND', 'Not a relay source');
        return { port: source.port };
      }
      case 'sinkOpen': {
        const pipeline = this.#pipeline(p.string('pipelineId'));
        const element = this.#element(pipeline, p.string('sourceId'));
        const port = p.integer('port');
        const sink = await this.#open(relayId, () => RelaySink.open(relayId, pipeline, this.context, port));
        if (!(sink instanceof RelaySink) || sink.closed) {
          throw new KurentoError('MEDIA_OBJECT_NOT_FOUND', `Relay '${relayId}' not found`);
        }
        element.connect(sink, kinds(p));
        return { port: sink.port, codec: element.videoCodec() ?? null };
      }
      case 'link': {
        const source = this.#source(relayId);
        const codec = p.optionalString('codec') as CodecName | undefined;
        source.peer(p.integer('port'), codec ?? undefined);
        source.connect(this.#element(source.pipeline, p.string('sinkId')), kinds(p));
        return undefined;
      }
      case 'unlink': {
        const source = this.#relays.get(relayId);
        const sink = source?.pipeline.element(p.string('sinkId'));
        if (source && sink) source.disconnect(sink, kinds(p));
        return undefined;
      }
      case 'close':
        this.#close(relayId);
        return undefined;
    }
  }

  /** Packets relayed by this host's relay sinks and received by its relay sources (stats). */
  stats(): { relaySinks: number; relaySources: number; relayedOut: number; relayedIn: number; relayNacks: number } {
    const out = { relaySinks: 0, relaySources: 0, relayedOut: 0, relayedIn: 0, relayNacks: 0 };
    for (const relay of this.#relays.values()) {
      if (relay instanceof RelaySink) {
        out.relaySinks += 1;
        out.relayedOut += relay.packets;
      } else {
        out.relaySources += 1;
        out.relayedIn += relay.packets;
        out.relayNacks += relay.nacked;
      }
    }
    return out;
  }

  /** A pipeline was released here: its relays go with it. */
  closePipeline(pipelineId: string): void {
    for (const [id, relay] of this.#relays) if (relay.pipeline.id === pipelineId) this.#close(id);
  }

  close(): void {
    for (const id of [...this.#relays.keys()]) this.#close(id);
  }

  /** The relay of that id, opened once even when asked for twice at the same moment. */
  #open(id: string, open: () => Promise<RelaySink | RelaySource>): Promise<RelaySink | RelaySource> {
    const existing = this.#relays.get(id) ?? this.#opening.get(id);
    if (existing) return Promise.resolve(existing);
    const opening = open().then(
      (relay) => {
        this.#opening.delete(id);
        if (this.#closedIds.delete(id) || relay.pipeline.closed) {
          relay.close();
          throw new KurentoError('MEDIA_OBJECT_NOT_FOUND', `Relay '${id}' was released`);
        }
        this.#add(relay);
        return relay;
      },
      (err: unknown) => {
        this.#opening.delete(id);
        throw err;
      },
    );
    this.#opening.set(id, opening);
    return opening;
  }

  #add(relay: RelaySink | RelaySource): void {
    this.#relays.set(relay.id, relay);
    this.#ticker ??= setInterval(() => {
      for (const r of this.#relays.values()) if (r instanceof RelaySource) r.tick();
    }, TICK_MS);
  }

  #close(id: string): void {
    if (this.#opening.has(id)) this.#closedIds.add(id);
    const relay = this.#relays.get(id);
    if (!relay) return;
    this.#relays.delete(id);
    relay.close();
    if (this.#relays.size === 0) {
      clearInterval(this.#ticker);
      this.#ticker = undefined;
    }
  }

  #pipeline(id: string): MediaPipeline {
    const pipeline = this.pipelineOf(id);
    if (!pipeline || pipeline.closed) throw new KurentoError('MEDIA_OBJECT_NOT_FOUND', `Object '${id}' not found`);
    return pipeline;
  }

  #element(pipeline: MediaPipeline, id: string): MediaElement {
    const element = pipeline.element(id);
    if (!element) throw new KurentoError('MEDIA_OBJECT_NOT_FOUND', `Object '${id}' not found`);
    return element;
  }

  #source(id: string): RelaySource {
    const source = this.#relays.get(id);
    if (!(source instanceof RelaySource)) throw new KurentoError('MEDIA_OBJECT_NOT_FOUND', `Relay '${id}' not found`);
    return source;
  }
}

function kinds(p: ParamReader): MediaKind[] {
  const raw = p.raw.kinds;
  return Array.isArray(raw) ? MEDIA_KINDS.filter((k) => raw.includes(k)) : [...MEDIA_KINDS];
}

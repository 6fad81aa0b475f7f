/**
 * The server's side of the relays between media hosts. A pipeline lives on its home host; a WebRtcEndpoint of it may
 * live on another host, in that host's copy of the pipeline. `connect(source on A, sink on B)` is realised by one
 * relay per (source, host): a relay sink next to the source in A, a relay source in B that feeds every sink of B
 * connected to that source. A relay is made on the first such connect and released with its last sink. Clients see
 * none of it: the source's ElementConnected / ElementDisconnected events name the real sink, as within one host.
 */
import { randomUUID } from 'node:crypto';
import type { Params } from '../protocol/JsonRpc.js';
import type { MediaKind } from '../rtp/MediaTypes.js';
import { RELAY_PREFIX } from '../relay/RelayWire.js';
import type { MediaHost } from '../workers/MediaHost.js';
import type { ElementEntry, PipelineEntry } from './ObjectRegistry.js';

interface Relay {
  readonly id: string;
  readonly key: string;
  readonly pipelineId: string;
  readonly sourceId: string;
  readonly from: MediaHost;
  readonly to: MediaHost;
  /** The relay source's port on `to`, once it is open there. */
  readonly opened: Promise<number>;
  /** The kinds the relay sink on `from` carries. */
  readonly kinds: Set<MediaKind>;
  /** The relay sink on `from`, open with the kinds asked so far. */
  sinkOpened?: Promise<void>;
  sinkPort?: number;
  codec?: string;
  /** The sinks on `to` it feeds, with their kinds. */
  readonly sinks: Map<string, Set<MediaKind>>;
  /** Connects under way through it (it is not released under them). */
  pending: number;
  released: boolean;
}

export interface RelayDeps {
  deliver(objectId: string, type: string, data: Params): void;
  /** The pipeline's copy on `host` exists (made once). */
  ensurePipeline(pipeline: PipelineEntry, host: MediaHost): Promise<void>;
}

export class Relays {
  readonly #relays = new Map<string, Relay>();
  /** For each sink fed through a relay: the relay of each kind. */
  readonly #fedBy = new Map<string, Map<MediaKind, Relay>>();

  constructor(private readonly deps: RelayDeps) {}

  get size(): number {
    return this.#relays.size;
  }

  /** Connects `source`'s `kinds` to `sink`, which lives on another host. */
  async connect(pipeline: PipelineEntry, source: ElementEntry, sink: ElementEntry, kinds: MediaKind[]): Promise<void> {
    const relay = this.#relayFor(pipeline, source, sink.host);
    relay.pending += 1;
    try {
      const sourcePort = await relay.opened;
      // The kinds are claimed at once, so that connects at the same moment ask the source's host only once.
      const missing = kinds.filter((k) => !relay.kinds.has(k));
      if (missing.length > 0 || !relay.sinkOpened) {
        for (const kind of missing) relay.kinds.add(kind);
        const previous = relay.sinkOpened ?? Promise.resolve();
        relay.sinkOpened = previous.then(async () => {
          const opened = (await source.host.relay('sinkOpen', {
            relayId: relay.id,
            pipelineId: pipeline.id,
            sourceId: source.id,
            kinds: missing.length > 0 ? missing : kinds,
            port: sourcePort,
          })) as { port: number; codec: string | null };
          relay.sinkPort = opened.port;
          if (opened.codec) relay.codec = opened.codec;
        });
        relay.sinkOpened.catch(() => this.#release(relay));
      }
      await relay.sinkOpened;
      if (relay.released) throw new Error('relay released during connect');
      await sink.host.relay('link', {
        relayId: relay.id,
        sinkId: sink.id,
        kinds,
        port: relay.sinkPort,
        codec: relay.codec ?? null,
      });
      for (const kind of kinds) {
        const previous = this.#fedBy.get(sink.id)?.get(kind);
        if (previous === relay) continue;
        if (previous) this.#unbook(previous, sink.id, kind);
        this.#book(relay, sink.id, kind);
        this.deps.deliver(source.id, 'ElementConnected', connectionEvent('ElementConnected', source.id, sink.id, kind));
      }
    } finally {
      relay.pending -= 1;
      this.#releaseIfUnused(relay);
    }
  }

  /** Disconnects `source`'s `kinds` from `sink` on another host; false if they were not connected through a relay. */
  async disconnect(source: ElementEntry, sink: ElementEntry, kinds: MediaKind[]): Promise<void> {
    const fed = this.#fedBy.get(sink.id);
    const linked = kinds.filter((kind) => fed?.get(kind)?.sourceId === source.id);
    const relay = linked.length > 0 ? fed?.get(linked[0]!) : undefined;
    if (!relay) return;
    await sink.host.relay('unlink', { relayId: relay.id, sinkId: sink.id, kinds: linked }).catch(() => undefined);
    for (const kind of linked) this.#unbook(relay, sink.id, kind);
    this.#releaseIfUnused(relay);
  }

  /** `sink` was connected to a source of its own host for `kinds`: the relays that fed those kinds no longer do. */
  replacedLocally(sinkId: string, kinds: MediaKind[]): void {
    const fed = this.#fedBy.get(sinkId);
    if (!fed) return;
    for (const kind of kinds) {
      const relay = fed.get(kind);
      if (!relay) continue;
      this.#unbook(relay, sinkId, kind);
      this.#releaseIfUnused(relay);
    }
  }

  /** The connections of `elementId` that go through relays, as sink (its sources) or as source (its sinks). */
  connectionsOf(elementId: string, side: 'source' | 'sink'): { source: string; sink: string; kind: MediaKind }[] {
    const out: { source: string; sink: string; kind: MediaKind }[] = [];
    if (side === 'source') {
      for (const [kind, relay] of this.#fedBy.get(elementId) ?? [])
        out.push({ source: relay.sourceId, sink: elementId, kind });
      return out;
    }
    for (const relay of this.#relays.values()) {
      if (relay.sourceId !== elementId) continue;
      for (const [sinkId, kinds] of relay.sinks)
        for (const kind of kinds) out.push({ source: elementId, sink: sinkId, kind });
    }
    return out;
  }

  /** An element is gone: as a sink it leaves its relays, as a source its relays go. */
  elementGone(id: string): void {
    const fed = this.#fedBy.get(id);
    if (fed) {
      for (const [kind, relay] of [...fed]) {
        this.#unbook(relay, id, kind, false);
        this.#releaseIfUnused(relay);
      }
    }
    for (const relay of [...this.#relays.values()]) if (relay.sourceId === id) this.#release(relay);
  }

  /** A pipeline is gone: its relays went with it on every host. */
  pipelineGone(pipelineId: string): void {
    for (const relay of [...this.#relays.values()]) if (relay.pipelineId === pipelineId) this.#forget(relay);
  }

  /** A host is gone: the relays from or to it are released on the other side. */
  hostGone(host: MediaHost): void {
    for (const relay of [...this.#relays.values()]) if (relay.from === host || relay.to === host) this.#release(relay);
  }

  #relayFor(pipeline: PipelineEntry, source: ElementEntry, to: MediaHost): Relay {
    const key = `${source.id}|${to.name}`;
    const existing = this.#relays.get(key);
    if (existing && !existing.released && existing.to === to) return existing;
    const id = `${RELAY_PREFIX}${randomUUID()}`;
    const opened = (async () => {
      await this.deps.ensurePipeline(pipeline, to);
      const { port } = (await to.relay('sourceOpen', { relayId: id, pipelineId: pipeline.id })) as { port: number };
      return port;
    })();
    const relay: Relay = {
      id,
      key,
      pipelineId: pipeline.id,
      sourceId: source.id,
      from: source.host,
      to,
      opened,
      kinds: new Set(),
      sinks: new Map(),
      pending: 0,
      released: false,
    };
    opened.catch(() => this.#release(relay));
    this.#relays.set(key, relay);
    return relay;
  }

  #book(relay: Relay, sinkId: string, kind: MediaKind): void {
    let kinds = relay.sinks.get(sinkId);
    if (!kinds) relay.sinks.set(sinkId, (kinds = new Set<MediaKind>()));
    kinds.add(kind);
    let fed = this.#fedBy.get(sinkId);
    if (!fed) this.#fedBy.set(sinkId, (fed = new Map<MediaKind, Relay>()));
    fed.set(kind, relay);
  }

  /** Drops one link from the books, telling the source's listeners (unless the sink is gone, as within a host). */
  #unbook(relay: Relay, sinkId: string, kind: MediaKind, announce = true): void {
    const kinds = relay.sinks.get(sinkId);
    kinds?.delete(kind);
    if (kinds?.size === 0) relay.sinks.delete(sinkId);
    const fed = this.#fedBy.get(sinkId);
    if (fed?.get(kind) === relay) fed.delete(kind);
    if (fed?.size === 0) this.#fedBy.delete(sinkId);
    if (announce) {
      const event = connectionEvent('ElementDisconnected', relay.sourceId, sinkId, kind);
      this.deps.deliver(relay.sourceId, 'ElementDisconnected', event);
    }
  }

  #releaseIfUnused(relay: Relay): void {
    if (relay.pending === 0 && relay.sinks.size === 0) this.#release(relay);
  }

  /** Closes both halves (each is idempotent, and gone with a dead host anyway). */
  #release(relay: Relay): void {
    if (relay.released) return;
    this.#forget(relay);
    void relay.from.relay('close', { relayId: relay.id }).catch(() => undefined);
    void relay.to.relay('close', { relayId: relay.id }).catch(() => undefined);
  }

  #forget(relay: Relay): void {
    relay.released = true;
    if (this.#relays.get(relay.key) === relay) this.#relays.delete(relay.key);
    for (const [sinkId, kinds] of [...relay.sinks])
      for (const kind of [...kinds]) this.#unbook(relay, sinkId, kind, false);
  }
}

function connectionEvent(type: string, sourceId: string, sinkId: string, kind: MediaKind): Params {
  const now = Date.now();
  return {
    source: sourceId,
    tags: [],
    timestampMillis: String(now),
    timestamp: String(Math.floor(now / 1000)),
    type,
    sink: sinkId,
    mediaType: kind === 'audio' ? 'AUDIO' : 'VIDEO',
    sourceMediaDescription: 'default',
    sinkMediaDescription: 'default',
  };
}

/**
 * The server's books of the media objects that exist: each pipeline with its home host and the hosts holding a copy
 * of it, its elements with the host of each, the session that created each object and the sessions that keep the
 * pipeline alive.
 * The host holds the objects themselves; this is what routing, `describe`, limits and collection need.
 */
import type { ElementType, ObjectType } from '../protocol/KurentoModel.js';
import { KurentoIds } from '../protocol/KurentoModel.js';
import type { MediaHost } from '../workers/MediaHost.js';

export interface ElementEntry {
  readonly id: string;
  readonly type: ElementType;
  readonly creatorId: string;
  /** The host the element lives on (the pipeline's home, or one holding a copy of the pipeline). */
  readonly host: MediaHost;
}

export interface PipelineEntry {
  readonly id: string;
  /** The pipeline's home: where it was created, with the elements that are not spread. */
  readonly host: MediaHost;
  /** Every host holding the pipeline (home included), each once its copy is made. */
  readonly copies: Map<MediaHost, Promise<void>>;
  readonly creatorId: string;
  readonly elements: Map<string, ElementEntry>;
  /** Sessions that created or reached this pipeline. */
  readonly sessionIds: Set<string>;
  /** WebRtcEndpoints placed in it so far (creations under way included): its first ones stay at home. */
  webRtcEndpointsPlaced: number;
  /** More than one session has reached it at some time (KMS then never collects it). */
  everShared?: boolean;
}

export class ObjectRegistry {
  readonly #pipelines = new Map<string, PipelineEntry>();

  get pipelineCount(): number {
    return this.#pipelines.size;
  }

  get objectCount(): number {
    let n = this.#pipelines.size;
    for (const pipeline of this.#pipelines.values()) n += pipeline.elements.size;
    return n;
  }

  pipelineIds(): string[] {
    return [...this.#pipelines.keys()];
  }

  pipelines(): IterableIterator<PipelineEntry> {
    return this.#pipelines.values();
  }

  /** The pipeline an object id belongs to, if that object exists. */
  pipelineOf(id: string): PipelineEntry | undefined {
    const pipelineId = KurentoIds.pipelineOf(id);
    if (!pipelineId) return undefined;
    const pipeline = this.#pipelines.get(pipelineId);
    if (!pipeline) return undefined;
    return pipelineId === id || pipeline.elements.has(id) ? pipeline : undefined;
  }

  typeOf(id: string): ObjectType | undefined {
    const pipeline = this.pipelineOf(id);
    if (!pipeline) return undefined;
    return pipeline.id === id ? 'MediaPipeline' : pipeline.elements.get(id)?.type;
  }

  addPipeline(id: string, host: MediaHost, creatorId: string): PipelineEntry {
    const entry: PipelineEntry = {
      id,
      host,
      copies: new Map([[host, Promise.resolve()]]),
      creatorId,
      elements: new Map(),
      sessionIds: new Set([creatorId]),
      webRtcEndpointsPlaced: 0,
    };
    this.#pipelines.set(id, entry);
    return entry;
  }

  /** The host an object lives on. */
  hostOf(id: string): MediaHost | undefined {
    const pipeline = this.pipelineOf(id);
    if (!pipeline) return undefined;
    return pipeline.id === id ? pipeline.host : pipeline.elements.get(id)?.host;
  }

  element(id: string): ElementEntry | undefined {
    return this.pipelineOf(id)?.elements.get(id);
  }

  addElement(
    pipeline: PipelineEntry,
    id: string,
    type: ElementType,
    creatorId: string,
    host: MediaHost = pipeline.host,
  ): ElementEntry {
    const entry = { id, type, creatorId, host };
    pipeline.elements.set(id, entry);
    pipeline.sessionIds.add(creatorId);
    return entry;
  }

  /** Forgets an object (a pipeline with all its elements); returns the entries removed. */
  remove(id: string): (PipelineEntry | ElementEntry)[] {
    const pipeline = this.pipelineOf(id);
    if (!pipeline) return [];
    if (pipeline.id !== id) {
      const element = pipeline.elements.get(id);
      pipeline.elements.delete(id);
      return element ? [element] : [];
    }
    this.#pipelines.delete(id);
    return [pipeline, ...pipeline.elements.values()];
  }

  /**
   * Forgets what a host that is gone held: the pipelines it was home to (with all their elements), and its elements
   * of the other pipelines. Returns the entries removed.
   */
  removeHost(host: MediaHost): (PipelineEntry | ElementEntry)[] {
    const removed: (PipelineEntry | ElementEntry)[] = [];
    for (const pipeline of [...this.#pipelines.values()]) {
      if (pipeline.host === host) {
        removed.push(...this.remove(pipeline.id));
        continue;
      }
      pipeline.copies.delete(host);
      for (const element of [...pipeline.elements.values()]) {
        if (element.host === host) removed.push(...this.remove(element.id));
      }
    }
    return removed;
  }
}

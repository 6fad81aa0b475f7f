/**
 * The server's books of the media objects that exist: each pipeline with its host, its elements,
 * the session that created each object and the sessions that keep the pipeline alive.
 * The host holds the objects themselves; this is what routing, `describe`, limits and collection need.
 */
import type { ElementType, ObjectType } from '../protocol/KurentoModel.js';
import { KurentoIds } from '../protocol/KurentoModel.js';
import type { MediaHost } from '../workers/MediaHost.js';

export interface ElementEntry {
  readonly id: string;
  readonly type: ElementType;
  readonly creatorId: string;
}

export interface PipelineEntry {
  readonly id: string;
  readonly host: MediaHost;
  readonly creatorId: string;
  readonly elements: Map<string, ElementEntry>;
  /** Sessions that created or reached this pipeline. */
  readonly sessionIds: Set<string>;
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
    const entry: PipelineEntry = { id, host, creatorId, elements: new Map(), sessionIds: new Set([creatorId]) };
    this.#pipelines.set(id, entry);
    return entry;
  }

  addElement(pipeline: PipelineEntry, id: string, type: ElementType, creatorId: string): ElementEntry {
    const entry = { id, type, creatorId };
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

  /** Forgets every pipeline of a host that is gone; returns the entries removed. */
  removeHost(host: MediaHost): (PipelineEntry | ElementEntry)[] {
    const removed: (PipelineEntry | ElementEntry)[] = [];
    for (const pipeline of [...this.#pipelines.values()]) {
      if (pipeline.host === host) removed.push(...this.remove(pipeline.id));
    }
    return removed;
  }
}

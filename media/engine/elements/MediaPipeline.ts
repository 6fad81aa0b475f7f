/** A pipeline: owns its elements; releasing it releases them all. */
import type { OperationTable } from './MediaObject.js';
import { MediaObject } from './MediaObject.js';
import type { MediaElement } from './MediaElement.js';
import type { RuntimeContext } from './RuntimeContext.js';

export class MediaPipeline extends MediaObject {
  readonly #elements = new Map<string, MediaElement>();
  latencyStats = false;

  constructor(id: string, context: RuntimeContext) {
    super(id, 'MediaPipeline', context);
  }

  get size(): number {
    return this.#elements.size;
  }

  elements(): IterableIterator<MediaElement> {
    return this.#elements.values();
  }

  element(id: string): MediaElement | undefined {
    return this.#elements.get(id);
  }

  adopt(element: MediaElement): void {
    this.#elements.set(element.id, element);
  }

  /** Called by an element when it closes. */
  forget(element: MediaElement): void {
    this.#elements.delete(element.id);
  }

  protected override operations(): OperationTable {
    return {
      ...super.operations(),
      getChildren: () => [...this.#elements.keys()],
      getMediaPipeline: () => this.id,
      getLatencyStats: () => this.latencyStats,
      setLatencyStats: (p) => void (this.latencyStats = p.boolean('latencyStats')),
      getGstreamerDot: () => `digraph "${this.id}" {}`,
      dumpGstreamerDot: () => undefined,
    };
  }

  protected override onClose(): void {
    for (const element of [...this.#elements.values()]) element.close();
    this.#elements.clear();
  }
}

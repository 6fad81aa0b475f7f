/**
 * The base of everything a client can reach by id: name, tags, creation time, the operation table
 * `invoke` dispatches on, Kurento-shaped events, and an idempotent close.
 */
import type { Params } from '../protocol/JsonRpc.js';
import { KurentoError } from '../protocol/KurentoError.js';
import type { ObjectType } from '../protocol/KurentoModel.js';
import { ParamReader } from '../protocol/ParamReader.js';
import type { RuntimeContext } from './RuntimeContext.js';

export type Operation = (params: ParamReader) => unknown;
export type OperationTable = Record<string, Operation>;

export abstract class MediaObject {
  readonly creationTime = Math.floor(Date.now() / 1000);
  name: string;
  sendTagsInEvents = false;
  readonly #tags = new Map<string, string>();
  #operations: OperationTable | undefined;
  #closed = false;

  protected constructor(
    readonly id: string,
    readonly type: ObjectType,
    protected readonly context: RuntimeContext,
  ) {
    this.name = id;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Runs a client operation; unknown operations are MEDIA_OBJECT_METHOD_NOT_FOUND. */
  async invoke(operation: string, params: Params): Promise<unknown> {
    if (this.#closed) throw new KurentoError('MEDIA_OBJECT_NOT_FOUND', `Object '${this.id}' not found`);
    this.#operations ??= this.operations();
    const handler = Object.hasOwn(this.#operations, operation) ? this.#operations[operation] : undefined;
    if (!handler) {
      throw new KurentoError('MEDIA_OBJECT_METHOD_NOT_FOUND', `Method '${operation}' not found in ${this.type}`);
    }
    return handler(new ParamReader(params));
  }

  /** The operations of this class; subclasses extend their parent's table. */
  protected operations(): OperationTable {
    return {
      getId: () => this.id,
      getName: () => this.name,
      setName: (p) => void (this.name = p.string('name')),
      getSendTagsInEvents: () => this.sendTagsInEvents,
      setSendTagsInEvents: (p) => void (this.sendTagsInEvents = p.boolean('sendTagsInEvents')),
      getCreationTime: () => this.creationTime,
      getChildren: () => [],
      addTag: (p) => void this.#tags.set(p.string('key'), p.string('value')),
      removeTag: (p) => void this.#tags.delete(p.string('key')),
      getTag: (p) => {
        const key = p.string('key');
        const value = this.#tags.get(key);
        if (value === undefined) throw new KurentoError('MEDIA_OBJECT_TAG_KEY_NOT_FOUND', `Tag key '${key}' not found`);
        return value;
      },
      getTags: () => this.#tagList(),
    };
  }

  /** Emits a Kurento event from this object; nothing is emitted once closed. */
  emitEvent(type: string, fields: Params = {}): void {
    if (this.#closed) return;
    const now = Date.now();
    this.context.emitEvent(this.id, type, {
      source: this.id,
      tags: this.sendTagsInEvents ? this.#tagList() : [],
      timestampMillis: String(now),
      timestamp: String(Math.floor(now / 1000)),
      type,
      ...fields,
    });
  }

  /** Emits Kurento's Error event. */
  emitError(errorType: string, description: string, errorCode = 40003): void {
    this.emitEvent('Error', { description, errorCode, type: errorType });
  }

  /** Releases the object; safe to call more than once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onClose();
  }

  /** Subclass hook run once by close(). */
  protected onClose(): void {}

  #tagList(): Params[] {
    return [...this.#tags].map(([key, value]) => ({ key, value, __module__: 'kurento', __type__: 'Tag' }));
  }
}

import { EventEmitter } from 'node:events';

type EventMap<T> = Record<keyof T, unknown[]>;

/** A typed EventEmitter whose `safeEmit` never lets a throwing listener break the emitter's own work. */
export class SafeEmitter<T extends EventMap<T>> extends EventEmitter<T> {
  /** Emit, catching (and reporting through `onListenerError`) whatever a listener throws. */
  safeEmit<K extends keyof T & string>(event: K, ...args: T[K]): boolean {
    try {
      return (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
    } catch (error) {
      this.onListenerError(event, error);
      return false;
    }
  }

  /** Where listener errors go; subclasses log them. */
  protected onListenerError(event: string, error: unknown): void {
    queueMicrotask(() => {
      throw Object.assign(new Error(`listener of '${event}' threw`), { cause: error });
    });
  }
}

/**
 * Event subscriptions, indexed by subscription id and by (object, event). A subscription remembers
 * the name it was made with, so 6.x clients receive events under the 6.x name.
 */
import { randomUUID } from 'node:crypto';

export interface Subscription {
  readonly id: string;
  readonly sessionId: string;
  readonly objectId: string;
  /** The event name as the client subscribed it. */
  readonly name: string;
  /** The 7.x event name the engine emits. */
  readonly event: string;
}

export class Subscriptions {
  readonly #byId = new Map<string, Subscription>();
  readonly #byObject = new Map<string, Map<string, Set<Subscription>>>();

  get size(): number {
    return this.#byId.size;
  }

  add(sessionId: string, objectId: string, name: string, event: string): Subscription {
    const subscription = { id: randomUUID(), sessionId, objectId, name, event };
    this.#byId.set(subscription.id, subscription);
    let byEvent = this.#byObject.get(objectId);
    if (!byEvent) this.#byObject.set(objectId, (byEvent = new Map<string, Set<Subscription>>()));
    let set = byEvent.get(event);
    if (!set) byEvent.set(event, (set = new Set()));
    set.add(subscription);
    return subscription;
  }

  /** Removes a subscription; unknown ids are ignored (unsubscribe never fails). */
  remove(id: string): Subscription | undefined {
    const subscription = this.#byId.get(id);
    if (!subscription) return undefined;
    this.#byId.delete(id);
    const byEvent = this.#byObject.get(subscription.objectId);
    const set = byEvent?.get(subscription.event);
    set?.delete(subscription);
    if (set?.size === 0) byEvent?.delete(subscription.event);
    if (byEvent?.size === 0) this.#byObject.delete(subscription.objectId);
    return subscription;
  }

  /** Drops every subscription to the given objects (they were released). */
  removeObjects(objectIds: Iterable<string>): Subscription[] {
    const removed: Subscription[] = [];
    for (const objectId of objectIds) {
      const byEvent = this.#byObject.get(objectId);
      if (!byEvent) continue;
      for (const set of byEvent.values()) {
        for (const subscription of set) {
          this.#byId.delete(subscription.id);
          removed.push(subscription);
        }
      }
      this.#byObject.delete(objectId);
    }
    return removed;
  }

  listeners(objectId: string, event: string): ReadonlySet<Subscription> | undefined {
    return this.#byObject.get(objectId)?.get(event);
  }
}

/**
 * A client session: the connection it is bound to (none while the client is away), its event
 * subscriptions, and the pipelines it keeps alive. When its connection goes, a grace timer starts;
 * a `connect` with the session id within the grace period rebinds it, otherwise it expires.
 */
import type { Connection } from './Connection.js';

export class Session {
  connection: Connection | undefined;
  readonly subscriptionIds = new Set<string>();
  /** Pipelines this session created or reached; released when no session refers to them any more. */
  readonly pipelineIds = new Set<string>();
  /** Objects created by this session that still exist (limit per session). */
  objectCount = 0;
  #graceTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(readonly id: string) {}

  get closed(): boolean {
    return this.#closed;
  }

  attach(connection: Connection): void {
    if (this.connection === connection) return;
    clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
    this.connection?.unbind(this);
    this.connection = connection;
    connection.bind(this);
  }

  /** The connection went away: expire after `graceMs` unless reattached. */
  detach(connection: Connection, graceMs: number, onExpire: (session: Session) => void): void {
    if (this.connection !== connection || this.#closed) return;
    this.connection = undefined;
    this.#graceTimer = setTimeout(() => onExpire(this), graceMs);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
    this.connection?.unbind(this);
    this.connection = undefined;
  }
}

/**
 * One client WebSocket: text frames in (size-checked, then handed to the API), responses and events
 * out. A connection is bound to the session(s) whose requests it carries.
 */
import type { RawData, WebSocket } from 'ws';
import { errorFrame, sniffId } from '../protocol/JsonRpc.js';
import { KurentoError } from '../protocol/KurentoError.js';
import type { Session } from './Session.js';

export interface FrameHandler {
  handleFrame(connection: Connection, text: string): void;
  connectionClosed(connection: Connection): void;
}

export class Connection {
  readonly #sessions = new Set<Session>();
  #closed = false;

  constructor(
    readonly socket: WebSocket,
    private readonly handler: FrameHandler,
    private readonly maxMessageBytes: number,
  ) {
    socket.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    socket.on('close', () => this.#onClose());
    socket.on('error', () => socket.terminate());
  }

  /** The session requests without a sessionId belong to: the first one bound to this connection. */
  get session(): Session | undefined {
    for (const session of this.#sessions) return session;
    return undefined;
  }

  get sessions(): ReadonlySet<Session> {
    return this.#sessions;
  }

  bind(session: Session): void {
    this.#sessions.add(session);
  }

  unbind(session: Session): void {
    this.#sessions.delete(session);
  }

  send(text: string): void {
    if (this.#closed || this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(text);
  }

  /** Closes with a close frame (clients see a clean close, not a reset); forces it after `forceAfterMs`. */
  close(forceAfterMs = 1000): Promise<void> {
    if (this.socket.readyState === this.socket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.socket.terminate(), forceAfterMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.close(1001, 'engine shutting down');
    });
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (isBinary) {
      this.send(errorFrame(null, new KurentoError('INVALID_REQUEST', 'Binary frames are not JSON-RPC').toJSON()));
      return;
    }
    const text = bytes.toString('utf8');
    if (bytes.length > this.maxMessageBytes) {
      const error = new KurentoError(
        'INVALID_REQUEST',
        `Message too large: ${bytes.length} > ${this.maxMessageBytes} bytes`,
      );
      this.send(errorFrame(sniffId(text), error.toJSON()));
      return;
    }
    this.handler.handleFrame(this, text);
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.handler.connectionClosed(this);
  }
}

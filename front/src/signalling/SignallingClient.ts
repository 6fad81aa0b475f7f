/**
 * One socket.io connection to onair's signalling (api/contract/signalling.ts), typed by the contract:
 * `request(event, payload)` resolves with the ok acknowledgement or throws an `ApiError` with the server's code;
 * `on(event, listener)` returns its own unsubscribe. It reconnects by itself; a refused token (a 401 code, at the
 * handshake or on any event) ends the session through `onSessionEnded`, as a 401 does for the REST client, and so
 * does the server's `session:ended` (a logout elsewhere, or the session's expiry), at once.
 */
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { shallowRef, type Ref } from 'vue';
import { ERROR_CODES, isErrorCode, type ErrorCode } from '../../../api/contract/errors.js';
import {
  SIGNALLING_PATH,
  type ClientToServerEvents,
  type ServerToClientEvents,
} from '../../../api/contract/signalling.js';
import { ApiError, NO_RESPONSE } from '../rest/ApiError.js';

/** `connecting` until the first connection, `reconnecting` after a loss (server-side state is then gone). */
export type SignallingStatus = 'connecting' | 'connected' | 'reconnecting' | 'closed';

export type RequestEvent = keyof ClientToServerEvents;
export type RequestOf<E extends RequestEvent> = Parameters<ClientToServerEvents[E]>[0];
type AckOf<E extends RequestEvent> = Parameters<Parameters<ClientToServerEvents[E]>[1]>[0];
/** The ok acknowledgement of an event (`{ ok: true, ...result }`). */
export type ResultOf<E extends RequestEvent> = Extract<AckOf<E>, { ok: true }>;
export type ServerEvent = keyof ServerToClientEvents;

export interface SignallingClientOptions {
  /** The account token, sent in the handshake. */
  token: string;
  /** The server's origin; default the page's own. */
  url?: string;
  /**
   * The session is over (expired or revoked): the server refused the token (`refused`), or told this connection
   * its session ended (`ended`, the `session:ended` event).
   */
  onSessionEnded?: (error: ApiError, how: 'refused' | 'ended') => void;
  /** How long a request waits for its acknowledgement. */
  timeoutMs?: number;
  /** Delay before connecting again after the server closed the connection itself or refused it for another reason. */
  retryDelayMs?: number;
  /** Extra socket.io options (tests). */
  socket?: Partial<ManagerOptions & SocketOptions>;
}

const NO_ANSWER = 'The server did not answer in time. Check your connection and try again.';

export class SignallingClient {
  /** The token this connection signed in with. */
  readonly token: string;
  /** Where the connection stands (reactive: pages can show it). */
  readonly status: Readonly<Ref<SignallingStatus>>;
  readonly #status = shallowRef<SignallingStatus>('connecting');
  readonly #socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  readonly #opts: SignallingClientOptions;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(opts: SignallingClientOptions) {
    this.#opts = opts;
    this.token = opts.token;
    this.status = this.#status;
    this.#socket = io(opts.url ?? '', {
      path: SIGNALLING_PATH,
      auth: { token: opts.token },
      transports: ['websocket', 'polling'],
      reconnectionDelay: 500,
      reconnectionDelayMax: 5_000,
      ...opts.socket,
    });
    this.#socket.on('connect', () => {
      this.#status.value = 'connected';
    });
    this.#socket.on('disconnect', (reason) => {
      if (this.#closed) return;
      this.#status.value = 'reconnecting';
      // The server closed it on purpose (restart, session check): socket.io does not retry by itself.
      if (reason === 'io server disconnect') this.#retryLater();
    });
    this.#socket.on('connect_error', (error: Error & { data?: { code?: unknown; message?: unknown } }) => {
      if (this.#closed) return;
      const code = error.data?.code;
      if (isErrorCode(code) && ERROR_CODES[code] === 401) {
        const message = typeof error.data?.message === 'string' ? error.data.message : code;
        this.close();
        this.#opts.onSessionEnded?.(new ApiError(code, message, 401), 'refused');
        return;
      }
      if (this.#status.value === 'connected') this.#status.value = 'reconnecting';
      // Refused by the server's middleware for another reason: not retried by socket.io, so retry here.
      if (!this.#socket.active) this.#retryLater();
    });
    // Sent right before the server disconnects this socket: its session was logged out or expired.
    this.#socket.on('session:ended', (body) => {
      if (this.#closed) return;
      const code: ErrorCode =
        isErrorCode(body?.code) && ERROR_CODES[body.code] === 401 ? body.code : 'auth.invalidToken';
      const message = typeof body?.message === 'string' && body.message ? body.message : code;
      this.close();
      this.#opts.onSessionEnded?.(new ApiError(code, message, 401), 'ended');
    });
  }

  get connected(): boolean {
    return this.#socket.connected;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends an event and resolves with its ok acknowledgement; throws an `ApiError` otherwise. */
  async request<E extends RequestEvent>(event: E, payload: RequestOf<E>): Promise<ResultOf<E>> {
    if (this.#closed)
      throw new ApiError('internal', 'The connection to the server is closed.', NO_RESPONSE, true, 'closed');
    // The typed emitWithAck wants a literal event; this one is generic over the request events.
    const timed = this.#socket.timeout(this.#opts.timeoutMs ?? 20_000) as unknown as {
      emitWithAck(event: string, payload: unknown): Promise<unknown>;
    };
    let ack: unknown;
    try {
      ack = await timed.emitWithAck(event, payload);
    } catch {
      throw new ApiError('internal', NO_ANSWER, NO_RESPONSE, true, 'noAnswer');
    }
    if (typeof ack !== 'object' || ack === null || typeof (ack as { ok?: unknown }).ok !== 'boolean') {
      throw new ApiError(
        'internal',
        `The server answered ${event} with something unexpected.`,
        NO_RESPONSE,
        false,
        'unexpectedAnswer',
      );
    }
    if ((ack as { ok: boolean }).ok) return ack as ResultOf<E>;
    const body = (ack as { error?: { code?: unknown; message?: unknown } }).error;
    const code: ErrorCode = isErrorCode(body?.code) ? body.code : 'internal';
    const message = typeof body?.message === 'string' && body.message ? body.message : code;
    const error = new ApiError(code, message, ERROR_CODES[code]);
    if (error.httpStatus === 401) {
      this.close();
      this.#opts.onSessionEnded?.(error, 'refused');
    }
    throw error;
  }

  /** Listens to a server event; returns the function that stops listening. */
  on<E extends ServerEvent>(event: E, listener: ServerToClientEvents[E]): () => void {
    const socket = this.#socket as unknown as { on(e: string, l: unknown): void; off(e: string, l: unknown): void };
    socket.on(event, listener);
    return () => socket.off(event, listener);
  }

  /** Disconnects for good (logout, another token). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#status.value = 'closed';
    this.#socket.disconnect();
  }

  #retryLater(): void {
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => {
      if (!this.#closed && !this.#socket.connected) this.#socket.connect();
    }, this.#opts.retryDelayMs ?? 2_000);
  }
}

/**
 * How the smoke check speaks to a deployment, as the front end does: REST with a bearer token (JSON, errors as
 * `{ error: { code, message } }`) and the socket.io signalling of api/contract/signalling.ts (path
 * `/socket.io/webrtc`, token in the handshake, every event acknowledged). Failures are `SmokeError`s whose message
 * names what was asked and what the deployment answered.
 */
import { io, type Socket } from 'socket.io-client';
import type { AuthResponse } from '../api/contract/rest.js';
import { SIGNALLING_PATH, type ClientToServerEvents, type ServerToClientEvents } from '../api/contract/signalling.js';

export class SmokeError extends Error {
  override name = 'SmokeError';
}

/** Why a fetch failed, in words (connection refused, DNS, TLS …). */
export function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } } | null)?.cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

export interface Answer<T> {
  status: number;
  headers: Headers;
  body: T;
}

export class Rest {
  constructor(
    readonly base: URL,
    readonly token: string | null = null,
  ) {}

  withToken(token: string): Rest {
    return new Rest(this.base, token);
  }

  /** A JSON request; resolves any answer (the caller judges the status), rejects only when nothing answered. */
  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<Answer<T>> {
    const url = new URL(path, this.base);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(20_000),
      });
    } catch (error) {
      throw new SmokeError(`${method} ${url.href}: no answer (${networkReason(error)})`);
    }
    const text = await response.text();
    let parsed: unknown = text;
    if ((response.headers.get('content-type') ?? '').includes('json') && text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new SmokeError(`${method} ${url.pathname}: answered ${response.status} with malformed JSON`);
      }
    }
    return { status: response.status, headers: response.headers, body: parsed as T };
  }

  /** A request that must answer `expected`; otherwise a SmokeError with the server's error code. */
  async expect<T = unknown>(method: string, path: string, expected: number, body?: unknown): Promise<T> {
    const answer = await this.request<T>(method, path, body);
    if (answer.status !== expected) {
      throw new SmokeError(`${method} ${path.split('?')[0]} answered ${answer.status} ${describeError(answer.body)}`);
    }
    return answer.body;
  }
}

function describeError(body: unknown): string {
  const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
  if (error?.code) return `${error.code}: ${error.message ?? ''}`.trim();
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** Registers a fresh account; resolves its token and nickname. */
export async function signUp(rest: Rest, nickname: string, password: string): Promise<AuthResponse> {
  return rest.expect<AuthResponse>('POST', '/api/auth/register', 201, { nickname, password });
}

type Received = [event: string, payload: any];
type Waiter = { match: (event: string, payload: any) => boolean; resolve: (payload: any) => void };

/** One signed-in socket.io connection; keeps every server event so that a wait never misses one already come. */
export class Signalling {
  readonly events: Received[] = [];
  readonly #waiters = new Set<Waiter>();

  private constructor(readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>) {
    socket.onAny((event: string, payload: unknown) => {
      this.events.push([event, payload]);
      for (const waiter of this.#waiters) {
        if (waiter.match(event, payload)) {
          this.#waiters.delete(waiter);
          waiter.resolve(payload);
        }
      }
    });
  }

  static connect(base: URL, token: string, timeoutMs = 20_000): Promise<Signalling> {
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(base.origin, {
      path: SIGNALLING_PATH,
      transports: ['websocket', 'polling'],
      reconnection: false,
      forceNew: true,
      timeout: timeoutMs,
      auth: { token },
    });
    const client = new Signalling(socket);
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(client));
      socket.once('connect_error', (error: Error & { data?: { code?: string; message?: string } }) => {
        socket.close();
        const reason = error.data?.code ? `${error.data.code}: ${error.data.message ?? ''}` : error.message;
        reject(new SmokeError(`socket.io connection to ${base.origin}${SIGNALLING_PATH} refused (${reason})`));
      });
    });
  }

  /** Emits an event; resolves its ok acknowledgement, throws a SmokeError with the error code otherwise. */
  async request<T extends object = object>(event: keyof ClientToServerEvents, payload: unknown): Promise<T> {
    let ack: any;
    try {
      ack = await (this.socket.timeout(20_000).emitWithAck as (e: string, p: unknown) => Promise<unknown>).call(
        this.socket,
        event,
        payload,
      );
    } catch {
      throw new SmokeError(`${event}: no acknowledgement within 20 s`);
    }
    if (!ack || typeof ack !== 'object') throw new SmokeError(`${event}: malformed acknowledgement`);
    if (!ack.ok) throw new SmokeError(`${event} refused: ${ack.error?.code}: ${ack.error?.message}`);
    return ack as T;
  }

  /** Sends without waiting (ICE candidates); a refusal is kept for the report. */
  send(event: keyof ClientToServerEvents, payload: unknown, onError: (message: string) => void): void {
    this.request(event, payload).catch((error: Error) => onError(error.message));
  }

  /** Resolves the payload of the first event (already received or to come) that matches. */
  waitFor<T = any>(event: string, match: (payload: any) => boolean = () => true): Promise<T> {
    const seen = this.events.find(([e, p]) => e === event && match(p));
    if (seen) return Promise.resolve(seen[1] as T);
    return new Promise((resolve) => this.#waiters.add({ match: (e, p) => e === event && match(p), resolve }));
  }

  on(event: string, listener: (payload: any) => void): void {
    this.socket.on(event as keyof ServerToClientEvents, listener as never);
  }

  close(): void {
    this.#waiters.clear();
    this.socket.close();
  }
}

import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { Server, type Socket } from 'socket.io';
import type { z } from 'zod';
import { OnairError, type Ack, type ErrorBody } from '../contract/errors.js';
import {
  SIGNALLING_PATH,
  type ClientToServerEvents,
  type ServerToClientEvents,
  type SocketData,
} from '../contract/signalling.js';
import type { CallService } from '../calls/CallService.js';
import type { ChatService } from '../chat/ChatService.js';
import type { Logger } from '../logger.js';
import { contractError } from '../mediaErrors.js';
import type { LiveService } from '../live/LiveService.js';
import type { Notifier, SocketUser } from './sockets.js';
import type { Store } from '../store/Store.js';
import { payloadProblem } from './payload.js';
import { schemas } from './schemas.js';

export type OnairServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type OnairSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** How the signalling layer checks the account token (handshake) and that its session still holds (every event). */
export interface SocketAuth {
  authenticate(token: unknown): Promise<SocketData>;
  isValid(data: SocketData): Promise<boolean>;
  /** Hear sessions revoked (logout) on any process, by token hash: their sockets are disconnected at once. */
  onRevoked?(listener: (tokenHash: string) => void): Promise<() => Promise<void>>;
}

/** Bounds on what one account or one address may hold; defaults no normal user reaches. */
export interface SignallingLimits {
  /** Sockets one account may have open at once, over every API process (default 20). */
  socketsPerAccount?: number;
  /** Sockets one client address may have open at once, over every API process (default 200). */
  socketsPerAddress?: number;
  /** Events one account may send per second over all its sockets (and processes, with a shared store); default 100. */
  accountEventsPerSecond?: number;
}

export interface SignallingOptions {
  httpServer: HttpServer;
  auth: SocketAuth;
  log: Logger;
  /** socket.io adapter (the Redis adapter when several API processes share a Redis). */
  adapter?: Parameters<OnairServer['adapter']>[0];
  /** Where the per-account event counts live (shared by the processes on one Redis); in memory when absent. */
  store?: Store;
  /** Events one socket may send per second (burst), before `request.rateLimited`. */
  eventsPerSecond?: number;
  limits?: SignallingLimits;
  /** The client address of a handshake (behind a proxy: from X-Forwarded-For); default the TCP peer. */
  clientAddress?: (req: IncomingMessage) => string;
  /** Largest socket.io message accepted (bytes); larger ones close the connection (socket.io's rule). */
  maxMessageBytes?: number;
}

/** Largest payload a handler accepts; bigger ones are answered `request.tooLarge`. */
const MAX_PAYLOAD_CHARS = 64 * 1024;
/** Deepest nesting of a payload; deeper ones are answered `request.invalid` (no schema nests more than 3). */
const MAX_PAYLOAD_DEPTH = 16;
/** setTimeout's largest delay; a session expiring later is re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const userRoom = (userId: number) => `signalling:user:${userId}`;
const addressRoom = (address: string) => `signalling:address:${address}`;

/**
 * socket.io signalling at `/socket.io/webrtc`. At the handshake: the token, then the socket caps per account and
 * per address (`request.tooManyConnections`). While connected, a socket follows its session: a logout on any
 * process, or the session's expiry, sends `session:ended` and disconnects every socket of that session.
 *
 * Every event goes through one gate (#dispatch), so that a handler registered with `#on` gets it for free: the
 * ack is found as the last function argument; the per-socket and per-account rate limits; the session re-check;
 * size and depth, then the event's schema (`request.invalid`); the handler; the one `Ack` shape. An error is
 * logged once, here. An unknown event with an ack answers `request.invalid`.
 */
export class SignallingServer {
  readonly io: OnairServer;
  readonly #opts: SignallingOptions;
  readonly #socketLimiter: RateLimiterMemory;
  readonly #accountLimiter: RateLimiterMemory;
  readonly #limits: Required<SignallingLimits>;
  /** This process's sockets by session (token hash). */
  readonly #bySession = new Map<string, Set<OnairSocket>>();
  /** Handshakes of this process admitted but not yet in their rooms, by room (so that a burst cannot pass a cap). */
  readonly #admitting = new Map<string, number>();
  readonly #handlers = new Map<
    string,
    { schema: z.ZodTypeAny; handler: (caller: SocketUser, req: never) => Promise<object> }
  >();
  #unsubscribe: (() => Promise<void>) | undefined;
  #closed = false;

  constructor(opts: SignallingOptions) {
    this.#opts = opts;
    const maxMessageBytes = opts.maxMessageBytes ?? 256 * 1024;
    // destroyUpgrade off: other WebSocket upgrades on this HTTP server are not socket.io's to cut.
    this.io = new Server(opts.httpServer, {
      path: SIGNALLING_PATH,
      serveClient: false,
      maxHttpBufferSize: maxMessageBytes,
      destroyUpgrade: false,
    });
    if (opts.adapter) this.io.adapter(opts.adapter);
    this.#limits = {
      socketsPerAccount: opts.limits?.socketsPerAccount ?? 20,
      socketsPerAddress: opts.limits?.socketsPerAddress ?? 200,
      accountEventsPerSecond: opts.limits?.accountEventsPerSecond ?? 100,
    };
    this.#socketLimiter = new RateLimiterMemory({ points: opts.eventsPerSecond ?? 40, duration: 1 });
    this.#accountLimiter = new RateLimiterMemory({ points: this.#limits.accountEventsPerSecond, duration: 1 });
    this.io.use((socket, next) => {
      this.#handshake(socket).then(
        () => next(),
        (error: unknown) => {
          const err = toOnairError(error);
          if (err.code === 'internal') this.#opts.log.error({ err: error }, 'handshake failed');
          else this.#opts.log.info({ code: err.code, address: socket.handshake.address }, err.message);
          next(Object.assign(new Error(err.message), { data: err.toBody() }));
        },
      );
    });
  }

  /** Subscribe to revoked sessions (before serving, so that no logout is missed). */
  async start(): Promise<void> {
    this.#unsubscribe = await this.#opts.auth.onRevoked?.((tokenHash) =>
      this.#endSession(tokenHash, {
        code: 'auth.invalidToken',
        message: 'you signed out: this connection is closed; sign in again',
      }),
    );
  }

  /** Start handling connections with the live layer and the calls (which reach sockets through `notifier`). */
  serve(lives: LiveService, calls?: CallService, chat?: ChatService): void {
    this.#on('presenter:start', (caller, req) => lives.startPresenting(caller, req));
    this.#on('presenter:offer', (caller, req) => lives.presenterOffer(caller, req));
    this.#on('presenter:resume', (caller, req) => lives.resumePresenting(caller, req));
    this.#on('presenter:stop', (caller, req) => lives.stopPresenting(caller, req));
    this.#on('viewer:watch', (caller, req) => lives.watch(caller, req));
    this.#on('viewer:offer', (caller, req) => lives.viewerOffer(caller, req));
    this.#on('viewer:leave', (caller, req) => lives.leave(caller, req));
    this.#on('ice:candidate', (caller, req) => lives.addCandidate(caller, req));
    if (calls) {
      this.#on('call:invite', (caller, req) => calls.invite(caller, req));
      this.#on('call:accept', (caller, req) => calls.accept(caller, req));
      this.#on('call:reject', (caller, req) => calls.reject(caller, req));
      this.#on('call:cancel', (caller, req) => calls.cancel(caller, req));
      this.#on('call:hangUp', (caller, req) => calls.hangUp(caller, req));
      this.#on('call:present', (caller, req) => calls.present(caller, req));
      this.#on('call:offer', (caller, req) => calls.offer(caller, req));
      this.#on('call:watch', (caller, req) => calls.watch(caller, req));
      this.#on('call:resume', (caller, req) => calls.resume(caller, req));
    }
    if (chat) {
      this.#on('chat:join', (caller, req) => chat.join(caller, req));
      this.#on('chat:send', (caller, req) => chat.send(caller, req));
      this.#on('chat:delete', (caller, req) => chat.remove(caller, req));
      this.#on('chat:mute', (caller, req) => chat.mute(caller, req));
      this.#on('chat:slowMode', (caller, req) => chat.slowMode(caller, req));
      this.#on('reaction:send', (caller, req) => chat.react(caller, req));
      this.#on('presenter:media', (caller, req) => chat.setMedia(caller, req));
      this.#on('live:mediaState', (caller, req) => chat.mediaState(caller, req));
    }
    this.io.on('connection', (socket) => this.#onConnection(socket, lives, calls));
  }

  /** How the live layer reaches sockets (through the adapter, so across processes too). */
  readonly notifier: Notifier = {
    toSocket: (socketId, event, ...args) => {
      (this.io.to(socketId).emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
    },
    toRoom: (room, event, ...args) => {
      (this.io.to(room).emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
    },
    toLocalRoom: (room, event, ...args) => {
      (this.io.local.to(room).emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
    },
    // A socket of this process joins at once; through the adapter (socketsJoin), even a local socket joins only when
    // the adapter's own message comes back from Redis, after the request that joined it may have been answered.
    join: (socketId, room) => {
      const local = this.io.of('/').sockets.get(socketId);
      if (local) void local.join(room);
      else void this.io.in(socketId).socketsJoin(room);
    },
    leave: (socketId, room) => {
      const local = this.io.of('/').sockets.get(socketId);
      if (local) void local.leave(room);
      else void this.io.in(socketId).socketsLeave(room);
    },
  };

  /** Disconnect every socket and stop accepting. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#unsubscribe?.().catch(() => undefined);
    // This process's sockets only (through the Redis adapter, disconnectSockets would reach every process), and
    // not io.close(): that also closes the HTTP server, whose owner closes it (cutting lingering connections).
    this.io.local.disconnectSockets(true);
    this.io.engine.close();
    await this.io.of('/').adapter.close();
  }

  // ---- handshake

  async #handshake(socket: OnairSocket): Promise<void> {
    const data = await this.#opts.auth.authenticate((socket.handshake.auth as { token?: unknown } | undefined)?.token);
    socket.data = data;
    const address = this.#opts.clientAddress?.(socket.request) ?? socket.handshake.address;
    const caps: Array<[room: string, cap: number, what: string]> = [
      [userRoom(data.userId), this.#limits.socketsPerAccount, 'this account has too many connections open'],
      [addressRoom(address), this.#limits.socketsPerAddress, 'too many connections from your address'],
    ];
    // Reserve first (synchronously), then count: handshakes racing on this process each see the others.
    for (const [room] of caps) this.#admitting.set(room, (this.#admitting.get(room) ?? 0) + 1);
    let reserved = true;
    const release = () => {
      if (!reserved) return;
      reserved = false;
      for (const [room] of caps) {
        const left = (this.#admitting.get(room) ?? 1) - 1;
        if (left > 0) this.#admitting.set(room, left);
        else this.#admitting.delete(room);
      }
    };
    socket.conn.once('close', release);
    try {
      for (const [room, cap, what] of caps) {
        const open = await this.#openSockets(room);
        if (open + (this.#admitting.get(room) ?? 0) > cap) {
          throw new OnairError('request.tooManyConnections', `${what} (at most ${cap}): close some first`);
        }
      }
    } catch (error) {
      release();
      throw error;
    }
    // In the rooms counted above, and out of the reservation, in one step (see #onConnection).
    (socket as OnairSocket & { onairAdmitted?: () => void }).onairAdmitted = () => {
      for (const [room] of caps) void socket.join(room);
      release();
    };
  }

  /** Sockets in a room over every process; a process that does not answer is not counted (fail open). */
  async #openSockets(room: string): Promise<number> {
    try {
      return (await this.io.in(room).fetchSockets()).length;
    } catch (error) {
      this.#opts.log.warn({ err: error, room }, 'could not count the sockets of a room');
      return 0;
    }
  }

  // ---- connections

  #onConnection(socket: OnairSocket, lives: LiveService, calls: CallService | undefined): void {
    (socket as OnairSocket & { onairAdmitted?: () => void }).onairAdmitted?.();
    const caller: SocketUser = { userId: socket.data.userId, nickname: socket.data.nickname, socketId: socket.id };
    const { tokenHash } = socket.data;
    let sessionSockets = this.#bySession.get(tokenHash);
    if (!sessionSockets) this.#bySession.set(tokenHash, (sessionSockets = new Set()));
    sessionSockets.add(socket);
    let expiry: NodeJS.Timeout | undefined;
    const armExpiry = () => {
      const inMs = socket.data.expiresAt - Date.now();
      expiry = setTimeout(
        () => {
          if (socket.data.expiresAt - Date.now() > 0) return armExpiry();
          this.#endSocket(socket, { code: 'auth.expiredToken', message: 'your session has expired: sign in again' });
        },
        Math.max(0, Math.min(inMs, MAX_TIMER_MS)),
      );
      expiry.unref();
    };
    armExpiry();

    lives.socketJoined(caller);
    if (calls) {
      void calls
        .socketJoined(caller)
        .catch((error: unknown) => this.#opts.log.error({ err: error, socketId: socket.id }, 'presence update failed'));
    }
    (socket.onAny as (l: (event: string, ...args: unknown[]) => void) => void)((event, ...args) =>
      this.#dispatch(socket, caller, event, args),
    );
    socket.on('disconnect', (reason) => {
      clearTimeout(expiry);
      const set = this.#bySession.get(tokenHash);
      set?.delete(socket);
      if (set?.size === 0) this.#bySession.delete(tokenHash);
      this.#opts.log.debug({ socketId: socket.id, userId: caller.userId, reason }, 'socket disconnected');
      void lives
        .socketGone(socket.id)
        .catch((error: unknown) => this.#opts.log.error({ err: error, socketId: socket.id }, 'socket clean-up failed'));
      void calls
        ?.socketGone(socket.id)
        .catch((error: unknown) => this.#opts.log.error({ err: error, socketId: socket.id }, 'call clean-up failed'));
    });
    // A logout that raced this handshake (the session was read before it was deleted) was announced before this
    // socket was listed: check once more now that it is.
    void this.#opts.auth.isValid(socket.data).then(
      (valid) => {
        if (!valid)
          this.#endSocket(socket, { code: 'auth.invalidToken', message: 'your session has ended: sign in again' });
      },
      (error: unknown) => this.#opts.log.warn({ err: error, socketId: socket.id }, 'session re-check failed'),
    );
  }

  /** Tell every socket of this process on that session why, then disconnect them. */
  #endSession(tokenHash: string, why: ErrorBody): void {
    for (const socket of [...(this.#bySession.get(tokenHash) ?? [])]) this.#endSocket(socket, why);
  }

  #endSocket(socket: OnairSocket, why: ErrorBody): void {
    if (socket.disconnected) return;
    this.#opts.log.info(
      { socketId: socket.id, userId: socket.data.userId, code: why.code },
      'session over: socket closed',
    );
    // Sent on the socket's own transport, so it arrives before the disconnect packet.
    socket.emit('session:ended', why);
    socket.disconnect(true);
  }

  // ---- events

  /** Register one client event: its schema is `schemas[event]`; every gate of #dispatch applies to it. */
  #on<E extends keyof typeof schemas>(
    event: E,
    handler: (caller: SocketUser, req: z.infer<(typeof schemas)[E]>) => Promise<object>,
  ): void {
    this.#handlers.set(event, {
      schema: schemas[event],
      handler: handler,
    });
  }

  #dispatch(socket: OnairSocket, caller: SocketUser, event: string, args: unknown[]): void {
    // The ack is the last argument when it is a function: an event sent without a payload still gets its answer.
    const last = args.at(-1);
    const reply = typeof last === 'function' ? (last as (res: Ack) => void) : () => undefined;
    const payloads = typeof last === 'function' ? args.slice(0, -1) : args;
    const payload = payloads[0];
    const registered = this.#handlers.get(event);
    void (async () => {
      try {
        await this.#consume(socket, caller);
        if (!(await this.#opts.auth.isValid(socket.data))) {
          const err = new OnairError('auth.invalidToken', 'your session has ended: sign in again');
          reply({ ok: false, error: err.toBody() });
          this.#endSocket(socket, err.toBody());
          return;
        }
        if (!registered) throw new OnairError('request.invalid', `unknown event "${event.slice(0, 64)}"`);
        if (payloads.length > 1) throw new OnairError('request.invalid', `${event} takes one payload`);
        const problem = payloadProblem(payload, MAX_PAYLOAD_CHARS, MAX_PAYLOAD_DEPTH);
        if (problem === 'tooLarge') throw new OnairError('request.tooLarge', `the ${event} payload is too large`);
        if (problem === 'tooDeep') throw new OnairError('request.invalid', `the ${event} payload is nested too deeply`);
        const parsed = registered.schema.safeParse(payload);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          throw new OnairError(
            'request.invalid',
            `${event}: ${issue?.path.join('.') || 'payload'} ${issue?.message ?? 'is invalid'}`,
          );
        }
        const result = await registered.handler(caller, parsed.data as never);
        reply({ ok: true, ...result });
      } catch (error) {
        const err = toOnairError(error);
        const entry = {
          event: event.slice(0, 64),
          socketId: socket.id,
          userId: caller.userId,
          code: err.code,
          err: err.status >= 500 ? error : undefined,
        };
        if (err.status >= 500) this.#opts.log.error(entry, err.message);
        else this.#opts.log.info(entry, err.message);
        reply({ ok: false, error: err.toBody() });
      }
    })();
  }

  /** One event of this socket and of its account: `request.rateLimited` past either limit. */
  async #consume(socket: OnairSocket, caller: SocketUser): Promise<void> {
    const limited = () => new OnairError('request.rateLimited', 'too many events: slow down');
    await this.#socketLimiter.consume(socket.id).catch((res: unknown) => {
      throw res instanceof RateLimiterRes ? limited() : res;
    });
    const store = this.#opts.store;
    if (store) {
      const { value } = await store.incr(`ratelimit:events:${caller.userId}`, 1, 1000);
      if (value > this.#limits.accountEventsPerSecond) throw limited();
      return;
    }
    await this.#accountLimiter.consume(String(caller.userId)).catch((res: unknown) => {
      throw res instanceof RateLimiterRes ? limited() : res;
    });
  }
}

/** The client address of a request under express's `trust proxy` setting (false, true, or a number of hops). */
export function forwardedAddress(trustProxy: boolean | number): (req: IncomingMessage) => string {
  return (req) => {
    const peer = req.socket.remoteAddress ?? 'unknown';
    if (trustProxy === false || trustProxy === 0) return peer;
    const header = req.headers['x-forwarded-for'];
    const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean);
    // Nearest last: the peer, then the addresses each proxy appended.
    const chain = [peer, ...forwarded.reverse()];
    const hops = trustProxy === true ? chain.length - 1 : Math.min(trustProxy, chain.length - 1);
    return chain[hops]!;
  };
}

function toOnairError(error: unknown): OnairError {
  return contractError(error) ?? new OnairError('internal', 'something went wrong on our side');
}

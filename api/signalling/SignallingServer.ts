import type { Server as HttpServer } from 'node:http';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { Server, type Socket } from 'socket.io';
import type { z } from 'zod';
import { OnairError, type Ack } from '../contract/errors.js';
import {
  SIGNALLING_PATH,
  type ClientToServerEvents,
  type ServerToClientEvents,
  type SocketData,
} from '../contract/signalling.js';
import type { CallService } from '../calls/CallService.js';
import type { ChatService } from '../chat/ChatService.js';
import type { Logger } from '../logger.js';
import type { Caller, LiveService, Notifier } from '../live/LiveService.js';
import { schemas } from './schemas.js';

export type OnairServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type OnairSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** How the signalling layer checks the account token (handshake) and that its session still holds (every event). */
export interface SocketAuth {
  authenticate(token: unknown): Promise<SocketData>;
  isValid(data: SocketData): Promise<boolean>;
}

export interface SignallingOptions {
  httpServer: HttpServer;
  auth: SocketAuth;
  log: Logger;
  /** socket.io adapter (the Redis adapter when several API processes share a Redis). */
  adapter?: Parameters<OnairServer['adapter']>[0];
  /** Events one socket may send per second (burst), before `request.rateLimited`. */
  eventsPerSecond?: number;
  /** Largest socket.io message accepted (bytes); larger ones close the connection (socket.io's rule). */
  maxMessageBytes?: number;
}

/** Largest payload a handler accepts; bigger ones are answered `request.tooLarge`. */
const MAX_PAYLOAD_CHARS = 64 * 1024;

/**
 * socket.io signalling at `/socket.io/webrtc`: the token is checked at the handshake and the session again on
 * every event; each event is rate limited, validated by its schema, handled by the live layer, and acknowledged
 * with the one `Ack` shape. An error is logged once, here.
 */
export class SignallingServer {
  readonly io: OnairServer;
  readonly #opts: SignallingOptions;
  readonly #limiter: RateLimiterMemory;
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
    const perSecond = opts.eventsPerSecond ?? 40;
    this.#limiter = new RateLimiterMemory({ points: perSecond, duration: 1 });
    this.io.use((socket, next) => {
      opts.auth.authenticate((socket.handshake.auth as { token?: unknown } | undefined)?.token).then(
        (data) => {
          socket.data = data;
          next();
        },
        (error: unknown) => {
          const err = toOnairError(error);
          next(Object.assign(new Error(err.message), { data: err.toBody() }));
        },
      );
    });
  }

  /** Start handling connections with the live layer and the calls (which reach sockets through `notifier`). */
  serve(lives: LiveService, calls?: CallService, chat?: ChatService): void {
    this.io.on('connection', (socket) => this.#onConnection(socket, lives, calls, chat));
  }

  /** How the live layer reaches sockets (through the adapter, so across processes too). */
  readonly notifier: Notifier = {
    toSocket: (socketId, event, ...args) => {
      (this.io.to(socketId).emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
    },
    toRoom: (room, event, ...args) => {
      (this.io.to(room).emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
    },
    join: (socketId, room) => {
      void this.io.in(socketId).socketsJoin(room);
    },
    leave: (socketId, room) => {
      void this.io.in(socketId).socketsLeave(room);
    },
  };

  /** Disconnect every socket and stop accepting. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // This process's sockets only (through the Redis adapter, disconnectSockets would reach every process), and
    // not io.close(): that also closes the HTTP server, whose owner closes it (cutting lingering connections).
    this.io.local.disconnectSockets(true);
    this.io.engine.close();
    await this.io.of('/').adapter.close();
  }

  #onConnection(socket: OnairSocket, lives: LiveService, calls?: CallService, chat?: ChatService): void {
    const caller: Caller = { userId: socket.data.userId, nickname: socket.data.nickname, socketId: socket.id };
    lives.socketJoined(caller);
    this.#handle(socket, caller, 'presenter:start', (req) => lives.startPresenting(caller, req));
    this.#handle(socket, caller, 'presenter:offer', (req) => lives.presenterOffer(caller, req));
    this.#handle(socket, caller, 'presenter:stop', (req) => lives.stopPresenting(caller, req));
    this.#handle(socket, caller, 'viewer:watch', (req) => lives.watch(caller, req));
    this.#handle(socket, caller, 'viewer:offer', (req) => lives.viewerOffer(caller, req));
    this.#handle(socket, caller, 'viewer:leave', (req) => lives.leave(caller, req));
    this.#handle(socket, caller, 'ice:candidate', (req) => lives.addCandidate(caller, req));
    if (calls) {
      void calls
        .socketJoined(caller)
        .catch((error: unknown) => this.#opts.log.error({ err: error, socketId: socket.id }, 'presence update failed'));
      this.#handle(socket, caller, 'call:invite', (req) => calls.invite(caller, req));
      this.#handle(socket, caller, 'call:accept', (req) => calls.accept(caller, req));
      this.#handle(socket, caller, 'call:reject', (req) => calls.reject(caller, req));
      this.#handle(socket, caller, 'call:cancel', (req) => calls.cancel(caller, req));
      this.#handle(socket, caller, 'call:hangUp', (req) => calls.hangUp(caller, req));
      this.#handle(socket, caller, 'call:present', (req) => calls.present(caller, req));
      this.#handle(socket, caller, 'call:offer', (req) => calls.offer(caller, req));
      this.#handle(socket, caller, 'call:watch', (req) => calls.watch(caller, req));
    }
    if (chat) {
      this.#handle(socket, caller, 'chat:join', (req) => chat.join(caller, req));
      this.#handle(socket, caller, 'chat:send', (req) => chat.send(caller, req));
      this.#handle(socket, caller, 'chat:delete', (req) => chat.remove(caller, req));
      this.#handle(socket, caller, 'chat:mute', (req) => chat.mute(caller, req));
      this.#handle(socket, caller, 'chat:slowMode', (req) => chat.slowMode(caller, req));
      this.#handle(socket, caller, 'reaction:send', (req) => chat.react(caller, req));
      this.#handle(socket, caller, 'presenter:media', (req) => chat.setMedia(caller, req));
      this.#handle(socket, caller, 'live:mediaState', (req) => chat.mediaState(caller, req));
    }
    socket.on('disconnect', (reason) => {
      this.#opts.log.debug({ socketId: socket.id, userId: caller.userId, reason }, 'socket disconnected');
      void lives
        .socketGone(socket.id)
        .catch((error: unknown) => this.#opts.log.error({ err: error, socketId: socket.id }, 'socket clean-up failed'));
      void calls
        ?.socketGone(socket.id)
        .catch((error: unknown) => this.#opts.log.error({ err: error, socketId: socket.id }, 'call clean-up failed'));
    });
  }

  /** Register one event: rate limit, session re-check, schema, handler, ack. */
  #handle<E extends keyof typeof schemas>(
    socket: OnairSocket,
    caller: Caller,
    event: E,
    handler: (req: z.infer<(typeof schemas)[E]>) => Promise<object>,
  ): void {
    const schema = schemas[event];
    (socket.on as (e: string, l: (...args: unknown[]) => void) => void)(event, (payload: unknown, ack: unknown) => {
      const reply = typeof ack === 'function' ? (ack as (res: Ack) => void) : () => undefined;
      void (async () => {
        try {
          await this.#limiter.consume(socket.id).catch((res: unknown) => {
            if (res instanceof RateLimiterRes)
              throw new OnairError('request.rateLimited', 'too many events: slow down');
            throw res;
          });
          if (!(await this.#opts.auth.isValid(socket.data))) {
            const err = new OnairError('auth.invalidToken', 'your session has ended: sign in again');
            reply({ ok: false, error: err.toBody() });
            socket.disconnect(true);
            return;
          }
          if (
            typeof payload === 'string'
              ? payload.length > MAX_PAYLOAD_CHARS
              : JSON.stringify(payload ?? null).length > MAX_PAYLOAD_CHARS
          ) {
            throw new OnairError('request.tooLarge', `the ${event} payload is too large`);
          }
          const parsed = schema.safeParse(payload);
          if (!parsed.success) {
            const issue = parsed.error.issues[0];
            throw new OnairError(
              'request.invalid',
              `${event}: ${issue?.path.join('.') || 'payload'} ${issue?.message ?? 'is invalid'}`,
            );
          }
          const result = await handler(parsed.data as z.infer<(typeof schemas)[E]>);
          reply({ ok: true, ...result });
        } catch (error) {
          const err = toOnairError(error);
          const entry = {
            event,
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
    });
  }
}

function toOnairError(error: unknown): OnairError {
  if (error instanceof OnairError) return error;
  return new OnairError('internal', 'something went wrong on our side');
}

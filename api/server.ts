/**
 * Starts onair's API server: logger, database (migrated), store, services, express app, HTTP server.
 * `close()` releases everything in reverse order and is idempotent. A failure during start-up releases what
 * was already opened before rejecting.
 */
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Express } from 'express';
import type { Logger } from 'pino';
import { createApp, type AppDeps } from './app.js';
import { Accounts } from './auth/Accounts.js';
import { Sessions } from './auth/Sessions.js';
import { StreamKeys } from './auth/StreamKeys.js';
import type { Config } from './config.js';
import { ERROR_CODES, OnairError, type ErrorBody } from './contract/errors.js';
import { avatarUrl } from './contract/rest.js';
import { openDatabase, type Database } from './db/index.js';
import { createMetrics, type Metrics } from './http/metrics.js';
import { registerMediaMetrics } from './http/mediaMetrics.js';
import { createLogger } from './logger.js';
import { createAdapter } from '@socket.io/redis-adapter';
import { CallService } from './calls/CallService.js';
import { ChatService } from './chat/ChatService.js';
import { chatRoutes } from './chat/routes.js';
import { callRoutes, onlineRoutes } from './calls/routes.js';
import { liveRoutes } from './http/liveRoutes.js';
import { LivePosters } from './live/LivePosters.js';
import { LiveService } from './live/LiveService.js';
import { rooms } from './signalling/sockets.js';
import { streamKeyRoutes } from './http/streamKeyRoutes.js';
import { whipRoutes } from './http/whipRoutes.js';
import { HttpPeers } from './whip/HttpPeers.js';
import { WhipService } from './whip/WhipService.js';
import { SequelizeLiveArchive } from './live/SequelizeLiveArchive.js';
import { createRecordings, type Recordings } from './recordings/index.js';
import type { ProbeResult } from './http/health.js';
import { MediaConnection, type MediaConnectionOptions } from './media/MediaConnection.js';
import { forwardedAddress, SignallingServer } from './signalling/SignallingServer.js';
import { createStore, RedisStore } from './store/index.js';
import { Membership } from './cluster/Membership.js';
import type { Store } from './store/Store.js';

/** Open connections get this long to finish after close() before they are cut. */
const CLOSE_GRACE_MS = 5000;

export interface ServerOptions {
  log?: Logger;
  /** Media server reachability for /healthz (default: the media connection's own probe). */
  mediaProbe?: () => Promise<ProbeResult>;
  /**
   * The media server: KMS_URI, else the embedded engine started by this process. Off when absent or null
   * (API-only test servers); `npm start` turns it on.
   */
  media?: MediaConnectionOptions | null;
  /** Folder of the built front end (default front/dist); null serves none. */
  frontDir?: string | null;
  /** More API routers, mounted before the API's 404. */
  routers?: AppDeps['routers'];
  /** The cluster heart-beat and how long a silent API process is still alive (default: INSTANCE_TTL_MS). */
  cluster?: { heartbeatMs?: number; instanceTtlMs?: number };
}

/** The services every feature builds on; later features add theirs next to these. */
export interface Services {
  config: Config;
  log: Logger;
  db: Database;
  store: Store;
  /** Which API processes are alive, and the take-over of dead ones. */
  membership: Membership;
  sessions: Sessions;
  accounts: Accounts;
  metrics: Metrics;
  /** The media server connection; null when the server runs without media. */
  media: MediaConnection | null;
  lives: LiveService;
  calls: CallService;
  /** Chat and reactions of lives. */
  chat: ChatService;
  /** The recordings library (VOD): router, finaliser, reconciliation. */
  recordings: Recordings;
  signalling: SignallingServer;
}

export interface RunningServer {
  /** Where this process answers, e.g. http://127.0.0.1:8080 (for the public address see services.config.publicUrl). */
  url: string;
  port: number;
  app: Express;
  httpServer: http.Server;
  db: Database;
  store: Store;
  log: Logger;
  services: Services;
  /** Stops accepting requests, lets open ones finish (briefly), then releases the store and database. Idempotent. */
  close(): Promise<void>;
}

export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const log = options.log ?? createLogger(config.logLevel);
  const cleanups: Array<() => Promise<void>> = [];
  const release = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((err: unknown) => log.warn({ err }, 'release failed during close'));
    }
  };

  try {
    if (config.signingSecretGenerated) {
      log.warn('SIGNING_SECRET is not set: using a random one, so signed media URLs stop working at restart');
    }
    await mkdir(config.recordingsDir, { recursive: true });

    const db = await openDatabase(config.databaseUrl, { log });
    cleanups.push(() => db.close());
    const applied = await db.migrate();
    log.info({ dialect: db.dialect, applied }, applied.length ? 'database migrated' : 'database up to date');

    const store = await createStore(config, log);
    cleanups.push(() => store.close());
    // Joined once every service listens for dead processes (below); left after they have released what they hold.
    const membership = new Membership({
      store,
      log: log.child({ module: 'cluster' }),
      instanceTtlMs: options.cluster?.instanceTtlMs ?? config.instanceTtlMs,
      ...(options.cluster?.heartbeatMs ? { heartbeatMs: options.cluster.heartbeatMs } : {}),
    });
    cleanups.push(() => membership.close());

    // The server listens early (PORT=0 is only known then, and socket.io attaches to it), so a request that comes
    // before the app is ready gets a 503 `server.starting` with Retry-After instead of no answer at all.
    let handler: http.RequestListener | null = null;
    const httpServer = http.createServer((req, res) => {
      if (handler) return void handler(req, res);
      answerStarting(res);
    });
    httpServer.headersTimeout = 30_000;
    httpServer.requestTimeout = 120_000;
    const sockets = trackSockets(httpServer);
    const port = await listen(httpServer, config.port, config.host);
    cleanups.push(() => closeHttp(httpServer, sockets));

    // With PORT=0 and no PUBLIC_URL, the public address is only known now.
    const finalConfig: Config =
      config.publicUrlFromPort && config.port !== port ? { ...config, publicUrl: `http://localhost:${port}` } : config;
    const sessions = new Sessions(store, finalConfig.tokenTtlMs);

    const media = options.media ? await MediaConnection.open(finalConfig, log, options.media) : null;
    if (media) cleanups.push(() => media.close());
    const signalling = new SignallingServer({
      httpServer,
      log: log.child({ module: 'signalling' }),
      auth: {
        authenticate: async (token) => {
          if (typeof token !== 'string' || token === '')
            throw new OnairError('auth.required', 'sign in first: the handshake carries no token');
          const session = await sessions.verify(token);
          const user = await db.User.findByPk(session.userId);
          if (!user) throw new OnairError('auth.invalidToken', 'the account of this token is gone');
          return {
            userId: user.id,
            nickname: user.nickname,
            tokenHash: session.tokenHash,
            expiresAt: session.expiresAt,
          };
        },
        isValid: (data) => sessions.isActive(data.tokenHash),
        onRevoked: (listener) => sessions.onRevoked(listener),
      },
      store,
      limits: {
        socketsPerAccount: finalConfig.socketsPerAccount,
        socketsPerAddress: finalConfig.socketsPerAddress,
        accountEventsPerSecond: finalConfig.accountEventsPerSecond,
      },
      clientAddress: forwardedAddress(finalConfig.trustProxy),
      ...(store instanceof RedisStore ? { adapter: await redisAdapter(store, cleanups) } : {}),
    });
    cleanups.push(() => signalling.close());
    await signalling.start();
    const recordings = await createRecordings({
      db,
      config: finalConfig,
      sessions,
      log,
      store,
      announce: {
        added: (recordingId) => signalling.notifier.toRoom(rooms.everyone, 'recordings:added', { recordingId }),
        removed: (recordingId) => signalling.notifier.toRoom(rooms.everyone, 'recordings:removed', { recordingId }),
      },
    });
    // WHIP and WHEP sessions are LiveService "sockets" too; their messages go to them, not to socket.io.
    const httpPeers = new HttpPeers();
    const lives = new LiveService({
      media: () => media?.pool ?? null,
      store,
      archive: new SequelizeLiveArchive(db, finalConfig.recordingsDir, (id) => recordings.stored(id)),
      notifier: httpPeers.wrap(signalling.notifier),
      log: log.child({ module: 'live' }),
      recordingsDir: finalConfig.recordingsDir,
      turn: {
        urls: finalConfig.turn?.urls ?? [],
        secret: finalConfig.turn?.secret,
        ttlSeconds: Math.ceil(finalConfig.tokenTtlMs / 1000),
      },
      avatarUrl,
      membership,
      recordCalls: finalConfig.recordCalls,
      resumeGraceMs: finalConfig.resumeGraceMs,
    });
    await lives.start();
    cleanups.push(() => lives.close());
    // Recordings a crash left behind, in the background; a live on air in any process is left alone. At close,
    // finalising stops first (what it leaves undone is finished at the next start).
    const reconciling = recordings.reconcile({
      isOnAir: (liveId) => lives.registry.holds(liveId),
    });
    cleanups.push(async () => {
      await recordings.close();
      await reconciling;
    });
    const calls = new CallService({
      store,
      models: db,
      lives,
      notifier: signalling.notifier,
      log: log.child({ module: 'calls' }),
      avatarUrl,
      ringTimeoutMs: finalConfig.callRingTimeoutMs,
      resumeGraceMs: finalConfig.resumeGraceMs,
      membership,
    });
    await calls.start();
    cleanups.push(() => calls.close());
    const chat = new ChatService({
      db,
      store,
      registry: lives.registry,
      notifier: signalling.notifier,
      log: log.child({ module: 'chat' }),
      avatarUrl,
      inRoom: (socketId, room) => signalling.io.sockets.sockets.get(socketId)?.rooms.has(room) ?? false,
    });
    const posters = new LivePosters(store, lives.registry);
    lives.on('ended', ({ liveId }) => {
      void posters
        .liveEnded(liveId)
        .catch((err: unknown) => log.warn({ err, liveId }, "removing a live's frame failed"));
      void chat.liveEnded(liveId).catch((err: unknown) => log.warn({ err, liveId }, 'chat clean-up failed'));
    });
    cleanups.push(() => chat.close());
    signalling.serve(lives, calls, chat);
    await membership.start();
    const streamKeys = new StreamKeys(db);
    const whip = new WhipService({
      lives,
      peers: httpPeers,
      media: () => media?.pool ?? null,
      log: log.child({ module: 'whip' }),
      idleMs: finalConfig.whipIdleMs,
    });
    cleanups.push(() => whip.close());

    const metrics = createMetrics();
    if (media) registerMediaMetrics(metrics.registry, media.pool);
    const services: Services = {
      config: finalConfig,
      log,
      db,
      store,
      membership,
      sessions,
      accounts: new Accounts(db, sessions),
      metrics,
      media,
      lives,
      calls,
      chat,
      recordings,
      signalling,
    };
    const mediaProbe = options.mediaProbe ?? (media ? () => media.health() : undefined);
    const app = createApp({
      ...services,
      ...(mediaProbe ? { mediaProbe } : {}),
      ...(options.frontDir !== undefined ? { frontDir: options.frontDir } : {}),
      routers: [
        { path: '/api/lives', router: liveRoutes(lives, sessions, posters) },
        { path: '/api/calls', router: callRoutes(calls, sessions) },
        { path: '/api/recordings', router: chatRoutes(chat, recordings.library, sessions) },
        { path: '/api/recordings', router: recordings.router },
        { path: '/api/users/online', router: onlineRoutes(calls, db, sessions, avatarUrl) },
        { path: '/api/stream-keys', router: streamKeyRoutes(streamKeys, sessions) },
        ...(options.routers ?? []),
      ],
      rootRouters: [whipRoutes({ whip, streamKeys, sessions, db })],
    });
    handler = app;

    const host = !config.host || config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    log.info({ url, publicUrl: finalConfig.publicUrl, store: store.kind }, 'onair API listening');

    let closing: Promise<void> | null = null;
    return {
      url,
      port,
      app,
      httpServer,
      db,
      store,
      log,
      services,
      close() {
        closing ??= release().then(() => log.info('onair API stopped'));
        return closing;
      },
    };
  } catch (err) {
    await release();
    throw err;
  }
}

/** socket.io's Redis adapter on two connections of the store's Redis (connected first), closed with the server. */
async function redisAdapter(store: RedisStore, cleanups: Array<() => Promise<void>>) {
  const pub = store.client.duplicate();
  const sub = store.client.duplicate();
  cleanups.push(async () => {
    await Promise.all([pub.quit().catch(() => pub.disconnect()), sub.quit().catch(() => sub.disconnect())]);
  });
  await Promise.all([pub.connect(), sub.connect()]);
  // Under the store's prefix, like every key: deployments (or test servers) sharing a Redis never hear each other.
  return createAdapter(pub, sub, { key: `${store.prefix}socket.io` });
}

function answerStarting(res: http.ServerResponse): void {
  const body: { error: ErrorBody } = {
    error: { code: 'server.starting', message: 'onair is starting; try again in a moment' },
  };
  res.writeHead(ERROR_CODES['server.starting'], {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'retry-after': '1',
  });
  res.end(JSON.stringify(body));
}

function listen(server: http.Server, port: number, host: string | null): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host ?? undefined, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Every socket of a server, upgraded ones (WebSockets) included, which closeAllConnections() does not know. */
function trackSockets(server: http.Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return sockets;
}

async function closeHttp(server: http.Server, sockets: Set<Socket>): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive connections become idle as their last response ends: close them as they do.
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  const force = setTimeout(() => {
    server.closeAllConnections();
    for (const socket of sockets) socket.destroy();
  }, CLOSE_GRACE_MS);
  force.unref();
  await closed;
  clearInterval(sweep);
  clearTimeout(force);
}

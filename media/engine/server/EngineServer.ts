/**
 * The engine's front door: one HTTP server carrying the Kurento WebSocket at /kurento and a
 * read-only `GET /stats` (objects, sessions, hosts, UDP sockets and timers, for leak checks).
 * The WebSocket is closed to strangers: its URI must carry the secret (`?access_token=`, which
 * kurento-client's `access_token` option sets), else 401; any Origin header (a browser page) is 403.
 */
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { EngineConfig } from '../config.js';
import { HostPool } from '../workers/HostPool.js';
import { processHandles, type HostStats } from '../workers/MediaHost.js';
import { Connection } from './Connection.js';
import { KurentoApi } from './KurentoApi.js';

export const KURENTO_PATH = '/kurento';
/** Frames over this many times the message limit are not read at all: the socket is closed (1009). */
const HARD_FRAME_FACTOR = 4;

export interface EngineStats {
  sessions: number;
  pipelines: number;
  objects: number;
  subscriptions: number;
  connections: number;
  /** UDP sockets and timers of the server process plus every worker. */
  udpSockets: number;
  timers: number;
  /** The engine's own process (the WebSocket server and, with no workers, the media too). */
  server: { pid: number; rssBytes: number; heapBytes: number; externalBytes: number };
  hosts: HostStats[];
}

export class EngineServer {
  readonly #http: http.Server;
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<Connection>();
  #closing: Promise<void> | undefined;

  private constructor(
    readonly config: EngineConfig,
    private readonly hosts: HostPool,
    readonly api: KurentoApi,
  ) {
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: config.maxMessageBytes * HARD_FRAME_FACTOR });
    this.#http = http.createServer((req, res) => void this.#onHttp(req, res));
    this.#http.on('upgrade', (req, socket, head) => {
      const path = new URL(req.url ?? '/', 'http://engine').pathname;
      if (path !== KURENTO_PATH || this.#closing) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      if (req.headers.origin !== undefined) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
        return;
      }
      if (!secretMatches(config.secret, req.url)) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => {
        const connection = new Connection(
          ws,
          {
            handleFrame: (c, text) => api.handleFrame(c, text),
            connectionClosed: (c) => {
              this.#connections.delete(c);
              api.connectionClosed(c);
            },
          },
          config.maxMessageBytes,
        );
        this.#connections.add(connection);
      });
    });
  }

  static async start(config: EngineConfig): Promise<EngineServer> {
    const hosts = await HostPool.start(config);
    const server = new EngineServer(config, hosts, new KurentoApi(config, hosts));
    await new Promise<void>((resolve, reject) => {
      server.#http.once('error', reject);
      server.#http.listen(config.port, config.host, () => {
        server.#http.off('error', reject);
        resolve();
      });
    });
    return server;
  }

  get port(): number {
    return (this.#http.address() as AddressInfo).port;
  }

  /** The WebSocket URI without the secret (what is printed and logged). */
  get url(): string {
    const host = this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host;
    return `ws://${host}:${this.port}${KURENTO_PATH}`;
  }

  async stats(): Promise<EngineStats> {
    const hosts = await this.hosts.stats();
    const own = processHandles();
    const memory = process.memoryUsage();
    const workers = hosts.filter((h) => h.pid !== process.pid);
    return {
      sessions: this.api.sessions.size,
      pipelines: this.api.registry.pipelineCount,
      objects: this.api.registry.objectCount,
      subscriptions: this.api.subscriptions.size,
      connections: this.#connections.size,
      udpSockets: own.udpSockets + workers.reduce((n, h) => n + h.udpSockets, 0),
      timers: own.timers + workers.reduce((n, h) => n + h.timers, 0),
      server: { pid: process.pid, rssBytes: memory.rss, heapBytes: memory.heapUsed, externalBytes: memory.external },
      hosts,
    };
  }

  /** Stops accepting, drops connections, releases everything and stops the workers. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([...this.#connections].map((connection) => connection.close()));
      this.api.close();
      this.#wss.close();
      this.#http.closeAllConnections();
      await new Promise<void>((resolve) => this.#http.close(() => resolve()));
      await this.hosts.close();
    })();
    return this.#closing;
  }

  async #onHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://engine').pathname;
    if (req.method === 'GET' && path === '/stats') {
      const body = JSON.stringify(await this.stats());
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
      return;
    }
    if (req.method === 'GET' && path === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }
}

/** Whether the request URI carries the secret as its one `access_token` (constant-time); true when there is none. */
function secretMatches(secret: string | undefined, url: string | undefined): boolean {
  if (secret === undefined) return true;
  const tokens = new URL(url ?? '/', 'http://engine').searchParams.getAll('access_token');
  if (tokens.length !== 1) return false;
  const given = Buffer.from(tokens[0]!);
  const expected = Buffer.from(secret);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

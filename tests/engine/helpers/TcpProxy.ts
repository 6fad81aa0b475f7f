/**
 * A TCP proxy in front of the engine, so a test can cut every client connection (the client then
 * reconnects through the proxy) or point the proxy at another engine (a restarted server).
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export class TcpProxy {
  readonly #sockets = new Set<net.Socket>();
  readonly #server: net.Server;

  /** The target URI's query (the engine's secret), kept in the proxy's URI. */
  #search = '';

  private constructor(private target: { host: string; port: number }) {
    this.#server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  static async start(targetUri: string): Promise<TcpProxy> {
    const proxy = new TcpProxy(TcpProxy.#hostPort(targetUri));
    proxy.#search = new URL(targetUri).search;
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** The engine URI through the proxy. */
  get uri(): string {
    return `ws://127.0.0.1:${(this.#server.address() as AddressInfo).port}/kurento${this.#search}`;
  }

  /** Points new connections at another engine (with the same secret, or the client's URI is refused). */
  retarget(targetUri: string): void {
    this.target = TcpProxy.#hostPort(targetUri);
  }

  /** Cuts every open connection (both directions). */
  cut(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  static #hostPort(uri: string): { host: string; port: number } {
    const url = new URL(uri);
    return { host: url.hostname, port: Number(url.port) };
  }
}

/**
 * A bare JSON-RPC WebSocket client, for what kurento-client cannot send: exact frames, malformed
 * input, 6.x event names, explicit transactions.
 */
import { WebSocket } from 'ws';

export interface RpcResponse {
  jsonrpc: '2.0';
  id: number | string | null;
  result?: Record<string, any>;
  error?: { code: number; message: string; data?: { type: string } };
}

export class RawRpc {
  readonly events: any[] = [];
  readonly #waiting = new Map<number | string | null, (response: RpcResponse) => void>();
  readonly #unmatched: RpcResponse[] = [];
  #nextId = 1;
  sessionId: string | undefined;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.method === 'onEvent') return void this.events.push(message.params.value);
      const waiter = this.#waiting.get(message.id);
      if (!waiter) return void this.#unmatched.push(message);
      this.#waiting.delete(message.id);
      waiter(message);
    });
  }

  static async open(uri: string): Promise<RawRpc> {
    const socket = new WebSocket(uri);
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    return new RawRpc(socket);
  }

  /** Sends a request (with the session once known) and returns the whole response. */
  async request(method: string, params: Record<string, unknown> = {}): Promise<RpcResponse> {
    const id = this.#nextId++;
    const withSession = this.sessionId && method !== 'ping' ? { sessionId: this.sessionId, ...params } : params;
    const response = await this.send(JSON.stringify({ jsonrpc: '2.0', id, method, params: withSession }), id);
    if (response.result?.sessionId) this.sessionId = response.result.sessionId;
    return response;
  }

  /** Sends a raw text frame and waits for the response with `id` (null: the next unmatched one). */
  send(frame: string | Buffer, id: number | string | null, timeoutMs = 10_000): Promise<RpcResponse> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no response to ${String(id)}`)), timeoutMs);
      const done = (response: RpcResponse) => {
        clearTimeout(timer);
        resolve(response);
      };
      const early = this.#unmatched.findIndex((r) => r.id === id);
      if (early >= 0) return done(this.#unmatched.splice(early, 1)[0]!);
      this.#waiting.set(id, done);
      this.socket.send(frame, { binary: Buffer.isBuffer(frame) });
    });
  }

  /** The result of a request that must succeed. */
  async ok(method: string, params: Record<string, unknown> = {}): Promise<Record<string, any>> {
    const response = await this.request(method, params);
    if (!response.result) throw new Error(`${method} failed: ${JSON.stringify(response.error)}`);
    return response.result;
  }

  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}

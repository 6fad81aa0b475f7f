/**
 * The one typed module around `kurento-client` (which ships no types of its own).
 *
 * - Connects with `socket.objectMode`, so that each JSON-RPC message travels in its own WebSocket frame
 *   (the default binary mode coalesces messages, which a Kurento Media Server cannot parse).
 * - Promise-style invokes of kurento-client swallow server errors (they resolve `undefined`), so every operation
 *   whose failure matters goes through the callback form here and rejects with a `KurentoError`.
 * - Event payloads arrive as raw JSON; ICE candidates are converted with the client's complex type.
 */
import kurentoClient from 'kurento-client';
import type { IceCandidateInit } from './shared.js';

export type MediaType = 'AUDIO' | 'VIDEO' | 'DATA';
export type MediaProfile =
  | 'WEBM'
  | 'WEBM_AUDIO_ONLY'
  | 'WEBM_VIDEO_ONLY'
  | 'MKV'
  | 'MKV_AUDIO_ONLY'
  | 'MKV_VIDEO_ONLY'
  | 'MP4'
  | 'MP4_AUDIO_ONLY'
  | 'MP4_VIDEO_ONLY';

export type { IceCandidateInit } from './shared.js';

/** Kurento events onair listens to, with their payloads. */
export interface KurentoEvents {
  IceCandidateFound: { candidate: IceCandidateInit };
  IceGatheringDone: Record<string, never>;
  IceComponentStateChanged: { streamId: number; componentId: number; state: string };
  MediaFlowInStateChanged: { state: 'FLOWING' | 'NOT_FLOWING'; mediaType: MediaType; padName: string };
  MediaFlowOutStateChanged: { state: 'FLOWING' | 'NOT_FLOWING'; mediaType: MediaType; padName: string };
  MediaStateChanged: { oldState: string; newState: 'CONNECTED' | 'DISCONNECTED' };
  ConnectionStateChanged: { oldState: string; newState: 'CONNECTED' | 'DISCONNECTED' };
  Recording: Record<string, never>;
  Paused: Record<string, never>;
  Stopped: Record<string, never>;
  EndOfStream: Record<string, never>;
  Error: { description: string; errorCode: number; type: string };
  /** ServerManager: an object was released on the media server (by any session, or by the server itself). */
  ObjectDestroyed: { objectId: string };
}
export type KurentoEventName = keyof KurentoEvents;

/** The proxy objects kurento-client hands out, reduced to what onair uses. */
export interface KurentoObject {
  readonly id: string;
  on<E extends KurentoEventName>(event: E, listener: (data: KurentoEvents[E]) => void): unknown;
  release(callback: (error?: Error | null) => void): unknown;
}
export type ElementType = 'WebRtcEndpoint' | 'RecorderEndpoint' | 'PlayerEndpoint' | 'RtpEndpoint';
export interface KurentoPipeline extends KurentoObject {
  create(
    type: ElementType,
    params: Record<string, unknown>,
    callback: (error?: unknown) => void,
  ): Promise<KurentoObject>;
}

/**
 * kurento-client, given no callback, prints the stack of every refused create (`console.trace`, beside the log)
 * as well as rejecting the promise. The creates here pass it one that ignores the error: the promise still carries
 * it, so a refusal (a media server at capacity) is reported once, by whoever handles it.
 */
const rejectedByPromise = (): void => undefined;

/** A new element in `pipeline`. */
export function createElement(
  pipeline: KurentoPipeline,
  type: ElementType,
  params: Record<string, unknown> = {},
): Promise<KurentoObject> {
  return pipeline.create(type, params, rejectedByPromise);
}

/** A new pipeline on the media server `client` is connected to. */
export function createPipeline(client: KurentoClient): Promise<KurentoPipeline> {
  return client.create('MediaPipeline', {}, rejectedByPromise);
}

/** A server-side error (KMS code and type), or a connection failure. */
export class KurentoError extends Error {
  readonly code: number | undefined;
  readonly type: string | undefined;
  constructor(operation: string, cause: unknown) {
    const c = cause as { message?: string; code?: number; data?: { type?: string } } | undefined;
    super(`${operation}: ${c?.message ?? String(cause)}`);
    this.name = 'KurentoError';
    this.code = c?.code;
    this.type = c?.data?.type;
  }
}

/** The kurento-client connection, typed. */
export interface KurentoClient {
  create(
    type: 'MediaPipeline',
    params: Record<string, unknown>,
    callback: (error?: unknown) => void,
  ): Promise<KurentoPipeline>;
  getMediaobjectById(id: string): Promise<KurentoObject>;
  getServerManager(): Promise<KurentoObject>;
  /** Ends the socket at once (a request still in flight gets no answer) and stops reconnecting. */
  close(): void;
  on(event: 'reconnected', listener: (sameSession: boolean) => void): unknown;
  on(event: 'disconnect' | 'connected', listener: () => void): unknown;
  /** The reconnecting socket (reconnect-core): `connected`, and `disconnect` the moment the socket drops. */
  readonly _re: {
    readonly connected: boolean;
    /** Stop reconnecting and end the socket now. */
    disconnect(): unknown;
    on(event: 'disconnect' | 'error' | 'connect' | 'reconnect', listener: (...args: unknown[]) => void): unknown;
  };
}

export interface ConnectOptions {
  /** Give up connecting after this many attempts (kurento-client's `failAfter`); Infinity keeps trying. */
  failAfter?: number;
  /** Per-request timeout in ms (kurento-client's `request_timeout`). */
  requestTimeoutMs?: number;
  /** Errors of the socket (a refused reconnection attempt...), which the client would otherwise throw. */
  onSocketError?: (error: Error) => void;
}

/**
 * Connect to a Kurento Media Server (or onair's embedded engine) at a `ws://.../kurento` URI.
 *
 * The client is constructed with `new`, which hands out the client itself (the factory and its promise hand out a
 * disguised copy without the reconnecting socket `_re`; it is returned boxed for the same reason), and the socket gets an `error` listener: without one,
 * a refused reconnection attempt throws out of reconnect-core and stops the reconnection for good.
 */
export async function connectKurento(uri: string, options: ConnectOptions = {}): Promise<{ client: KurentoClient }> {
  let client!: KurentoClient;
  await new Promise<void>((resolve, reject) => {
    client = new kurentoClient(
      uri,
      {
        socket: { objectMode: true },
        failAfter: options.failAfter ?? Number.POSITIVE_INFINITY,
        request_timeout: options.requestTimeoutMs ?? 20_000,
      },
      (error: unknown) => (error ? reject(new KurentoError('connect', error)) : resolve()),
    ) as KurentoClient;
    client._re.on('error', (error) => options.onSocketError?.(error as Error));
    guardConnections(client);
    closeAtOnce(client);
  });
  // Boxed: the client is a thenable, which returning it from an async function would adopt (and disguise).
  return { client };
}

/**
 * kurento-client's own `close()` ends the socket only once its last request is answered (after the request timeout,
 * for a media server that is gone), and reconnects meanwhile. onair closes a connection when it is done with it:
 * the clients handed out here end their socket at once as well.
 */
function closeAtOnce(client: KurentoClient): void {
  const close = client.close.bind(client);
  client.close = () => {
    close();
    client._re.disconnect();
  };
}

/**
 * reconnect-core listens to the `error` of each connection it makes only until the first one: a second error on
 * the same connection (an ECONNRESET after a refused write, while a media server restarts) would be thrown out of
 * the process. Every connection gets a lasting listener of its own (the first error is reported through `_re`).
 */
function guardConnections(client: KurentoClient): void {
  const re = client._re as KurentoClient['_re'] & { _connection?: NodeJS.EventEmitter };
  const guarded = new WeakSet<object>();
  const guard = () => {
    const connection = re._connection;
    if (!connection || guarded.has(connection)) return;
    guarded.add(connection);
    connection.on('error', () => undefined);
  };
  guard();
  // The connection of an attempt is made right after its `reconnect` event; `connect` and `error` carry it too.
  re.on('reconnect', () => process.nextTick(guard));
  re.on('connect', guard);
  re.on('error', guard);
}

/**
 * Invoke an operation in kurento-client's callback form and turn its error into a rejection.
 * `invoke(endpoint, 'processOffer', sdp)` resolves with the server's value.
 */
export function invoke<T = unknown>(object: KurentoObject, operation: string, ...args: unknown[]): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const method = (object as unknown as Record<string, unknown>)[operation];
    if (typeof method !== 'function') {
      reject(new KurentoError(operation, new Error(`no operation ${operation} on ${object.id}`)));
      return;
    }
    try {
      method.call(object, ...args, (error: unknown, value: T) => {
        if (error) reject(new KurentoError(operation, error));
        else resolve(value);
      });
    } catch (error) {
      reject(new KurentoError(operation, error));
    }
  });
}

/** Release an object on the media server; resolves either way, returning the error if there was one. */
export function release(object: KurentoObject): Promise<Error | undefined> {
  return new Promise((resolve) => {
    try {
      object.release((error) => resolve(error ? new KurentoError('release', error) : undefined));
    } catch (error) {
      resolve(new KurentoError('release', error));
    }
  });
}

/** Turn a browser ICE candidate into the client's IceCandidate complex type. */
export function toKurentoCandidate(candidate: IceCandidateInit): unknown {
  return kurentoClient.getComplexType('IceCandidate')(candidate);
}

/** Ids of a list of media objects as kurento-client returns them (proxies, or bare ids). */
function idsOf(objects: Array<{ id: string } | string> | undefined | null): string[] {
  return (objects ?? []).map((o) => (typeof o === 'string' ? o : o.id));
}

/** Pipelines the media server holds right now (all sessions), by id. */
export async function listPipelines(client: KurentoClient): Promise<string[]> {
  const manager = await client.getServerManager();
  return idsOf(await invoke<Array<{ id: string } | string>>(manager, 'getPipelines'));
}

/** Ids of the elements of a pipeline (endpoints, recorders), as the media server lists them. */
export async function listChildren(object: KurentoObject): Promise<string[]> {
  return idsOf(await invoke<Array<{ id: string } | string>>(object, 'getChildren'));
}

/** A media object's tags (`addTag`), as a map. */
export async function tagsOf(object: KurentoObject): Promise<Map<string, string>> {
  const tags = await invoke<Array<{ key: string; value: string }>>(object, 'getTags');
  return new Map((tags ?? []).map((t) => [t.key, t.value]));
}

/**
 * Subscribe to an event. A refused subscription (the object is already gone) is emitted by kurento-client as the
 * object's `error` event, which throws out of the client when nobody listens; the client's own `newListener` hook
 * refuses an `error` listener (not a Kurento event), so it is attached with that hook set aside.
 */
export function listen<E extends KurentoEventName>(
  object: KurentoObject,
  event: E,
  listener: (data: KurentoEvents[E]) => void,
  onError: (error: Error) => void = () => undefined,
): void {
  const emitter = object as unknown as NodeJS.EventEmitter;
  if (emitter.listenerCount('error') === 0) {
    const hooks = emitter.listeners('newListener') as Array<(...args: unknown[]) => void>;
    emitter.removeAllListeners('newListener');
    emitter.on('error', (error: Error) => onError(error));
    for (const hook of hooks) emitter.on('newListener', hook);
  }
  object.on(event, listener);
}

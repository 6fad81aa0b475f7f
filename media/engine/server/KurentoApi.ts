/**
 * The Kurento JSON-RPC methods: ping, connect, describe, create, invoke, subscribe, unsubscribe,
 * release, transaction (with `newref:`), plus keepAlive/closeSession/ref/unref for other clients.
 * Owns the sessions, the object books and the subscriptions; hands media work to the hosts and
 * fans their events out to subscribed sessions.
 */
import { randomUUID } from 'node:crypto';
import type { EngineConfig } from '../config.js';
import {
  errorFrame,
  eventFrame,
  isPlainObject,
  parseFrame,
  resultFrame,
  type Params,
  type RpcRequest,
} from '../protocol/JsonRpc.js';
import { KurentoError } from '../protocol/KurentoError.js';
import {
  KurentoIds,
  SERVER_MANAGER_ID,
  canonicalEvent,
  describeType,
  isElementType,
  isObjectType,
  type ObjectType,
} from '../protocol/KurentoModel.js';
import { ParamReader } from '../protocol/ParamReader.js';
import { isRelayId } from '../relay/RelayWire.js';
import { KURENTO_MEDIA_TYPES, kindsOf, kurentoMediaType } from '../rtp/MediaTypes.js';
import type { HostPool, Placement } from '../workers/HostPool.js';
import type { MediaHost } from '../workers/MediaHost.js';
import type { Connection, FrameHandler } from './Connection.js';
import { ObjectRegistry, type ElementEntry, type PipelineEntry } from './ObjectRegistry.js';
import { Relays } from './Relays.js';
import { ServerManager } from './ServerManager.js';
import { Session } from './Session.js';
import { Subscriptions } from './Subscriptions.js';

/** A pipeline's first WebRtcEndpoints stay at its home (a presenter, both sides of a call); later ones spread. */
const HOME_WEBRTC_ENDPOINTS = 2;

type Handler = (session: Session, params: ParamReader, connection: Connection) => Promise<Params> | Params;

export class KurentoApi implements FrameHandler {
  readonly sessions = new Map<string, Session>();
  readonly registry = new ObjectRegistry();
  readonly subscriptions = new Subscriptions();
  readonly serverId = randomUUID();
  readonly relays: Relays;
  readonly #serverManager: ServerManager;
  readonly #handlers: Record<string, Handler>;
  /** KMS-faithful: the last request of each connection, which the next one waits for. */
  readonly #serial = new WeakMap<Connection, Promise<unknown>>();
  #closed = false;
  /** WebRtcEndpoints being created (counted against ENGINE_MAX_ENDPOINTS before they are in the registry). */
  #creatingEndpoints = 0;

  constructor(
    private readonly config: EngineConfig,
    private readonly hosts: HostPool,
  ) {
    this.relays = new Relays({
      deliver: (objectId, type, data) => this.#deliver(objectId, type, data),
      ensurePipeline: (pipeline, host) => this.#ensureCopy(pipeline, host),
    });
    this.#serverManager = new ServerManager({
      registry: this.registry,
      hosts,
      sessionIds: () => [...this.sessions.keys()],
    });
    this.#handlers = {
      describe: (s, p) => this.#describe(s, p),
      create: (s, p) => this.#create(s, p),
      invoke: (s, p) => this.#invoke(s, p),
      subscribe: (s, p) => this.#subscribe(s, p),
      unsubscribe: (s, p) => this.#unsubscribe(s, p),
      release: (s, p) => this.#release(s, p),
      transaction: (s, p, c) => this.#transaction(s, p, c),
      keepAlive: (s) => ({ sessionId: s.id }),
      closeSession: (s) => this.#closeSession(s),
      ref: (s, p) => this.#ref(s, p),
      unref: (s, p) => this.#unref(s, p),
    };
    hosts.on('event', (_host, objectId, type, data) => {
      // Relays are the engine's own: their events, and their sources' events about them, reach nobody.
      if (isRelayId(objectId) || isRelayId(data.sink)) return;
      this.#deliver(objectId, type, data);
    });
    hosts.on('released', (_host, ids) => this.#forget(ids.flatMap((id) => this.registry.remove(id))));
    hosts.on('hostExit', (host, error) => this.#hostGone(host, error));
  }

  handleFrame(connection: Connection, text: string): void {
    const frame = parseFrame(text);
    if (frame.kind === 'ignored') return;
    if (frame.kind === 'invalid') {
      connection.send(errorFrame(frame.id, frame.error.toJSON()));
      return;
    }
    const { request } = frame;
    let handled: Promise<Params>;
    if (this.config.kmsFaithful) {
      // KMS answers the requests of one connection one at a time, in order (pings included).
      const previous = this.#serial.get(connection) ?? Promise.resolve();
      handled = previous.then(() => this.#handle(connection, request));
      this.#serial.set(
        connection,
        handled.catch(() => undefined),
      );
    } else {
      handled = this.#handle(connection, request);
    }
    handled.then(
      (result) => request.expectsResponse && connection.send(resultFrame(request.id, result)),
      (err: unknown) =>
        request.expectsResponse && connection.send(errorFrame(request.id, KurentoError.from(err).toJSON())),
    );
  }

  connectionClosed(connection: Connection): void {
    for (const session of [...connection.sessions]) {
      session.detach(connection, this.config.sessionGraceMs, (expired) => this.#expire(expired));
    }
  }

  /** Releases every session and object (server shutdown); the hosts are closed by their owner. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const session of this.sessions.values()) session.close();
    this.sessions.clear();
  }

  async #handle(connection: Connection, request: RpcRequest): Promise<Params> {
    const params = new ParamReader(request.params);
    if (request.method === 'ping') {
      const sessionId = params.optionalString('sessionId');
      return sessionId ? { value: 'pong', sessionId } : { value: 'pong' };
    }
    if (request.method === 'connect') return this.#connect(connection, params);
    const handler = Object.hasOwn(this.#handlers, request.method) ? this.#handlers[request.method] : undefined;
    if (!handler) throw new KurentoError('METHOD_NOT_FOUND', `Method '${request.method}' not found`);
    return handler(this.#sessionFor(connection, params), params, connection);
  }

  /** The request's session: the one it names (created if unknown), else the connection's own. Synchronous, so
   * requests pipelined before the first answer share the session created for the first one. */
  #sessionFor(connection: Connection, params: ParamReader): Session {
    const requested = params.has('sessionId') ? params.string('sessionId') : undefined;
    let session = requested ? this.sessions.get(requested) : connection.session;
    if (!session) {
      session = new Session(requested ?? randomUUID());
      this.sessions.set(session.id, session);
    }
    if (session.connection !== connection) session.attach(connection);
    return session;
  }

  #connect(connection: Connection, params: ParamReader): Params {
    const requested = params.optionalString('sessionId');
    if (requested === undefined) {
      const session = this.#sessionFor(connection, params);
      return { sessionId: session.id, serverId: this.serverId };
    }
    const session = this.sessions.get(requested);
    if (!session) throw new KurentoError('INVALID_SESSION', 'Invalid session');
    session.attach(connection);
    return { sessionId: session.id, serverId: this.serverId };
  }

  #describe(session: Session, p: ParamReader): Params {
    const id = p.string('object');
    if (id === SERVER_MANAGER_ID) return { ...describeType('ServerManager'), sessionId: session.id };
    const type = this.registry.typeOf(id);
    if (!type) throw notFound(id);
    this.#touch(session, this.registry.pipelineOf(id));
    return { ...describeType(type), sessionId: session.id };
  }

  async #create(session: Session, p: ParamReader): Promise<Params> {
    const type = p.string('type');
    if (!isObjectType(type) || type === 'ServerManager') {
      throw new KurentoError('MEDIA_OBJECT_TYPE_NOT_FOUND', `Factory '${type}' not found`);
    }
    const constructorParams = p.optionalObject('constructorParams') ?? {};
    if (session.objectCount >= this.config.maxObjectsPerSession) {
      throw new KurentoError(
        'NOT_ENOUGH_RESOURCES',
        `Too many objects in session (limit ${this.config.maxObjectsPerSession})`,
      );
    }
    const id =
      type === 'MediaPipeline'
        ? await this.#createPipeline(session, constructorParams)
        : await this.#createElement(session, type, constructorParams);
    this.#deliver(SERVER_MANAGER_ID, 'ObjectCreated', serverManagerEvent('ObjectCreated', id));
    return { value: id, sessionId: session.id };
  }

  async #createPipeline(session: Session, constructorParams: Params): Promise<string> {
    const placement = this.hosts.pick();
    const { host } = placement;
    const id = KurentoIds.pipeline(randomUUID());
    await createPlaced(placement, id, 'MediaPipeline', constructorParams);
    if (session.closed) {
      await host.release(id).catch(() => undefined);
      throw new KurentoError('INVALID_SESSION', 'Session closed during creation');
    }
    this.#touch(session, this.registry.addPipeline(id, host, session.id));
    session.objectCount += 1;
    return id;
  }

  async #createElement(session: Session, type: ObjectType, constructorParams: Params): Promise<string> {
    if (!isElementType(type)) throw new KurentoError('MEDIA_OBJECT_TYPE_NOT_FOUND', `Factory '${type}' not found`);
    const pipelineId = new ParamReader(constructorParams).string('mediaPipeline');
    const pipeline = this.registry.pipelineOf(pipelineId);
    if (!pipeline || pipeline.id !== pipelineId) throw notFound(pipelineId);
    const id = KurentoIds.element(pipeline.id, randomUUID(), type);
    if (type === 'WebRtcEndpoint') {
      this.#assertEndpointCapacity();
      this.#creatingEndpoints += 1;
    }
    const placement = this.#placeElement(pipeline, type);
    const { host } = placement;
    try {
      await this.#ensureCopy(pipeline, host);
      await createPlaced(placement, id, type, constructorParams);
    } finally {
      placement.release();
      if (type === 'WebRtcEndpoint') this.#creatingEndpoints -= 1;
    }
    if (!this.registry.pipelineOf(pipeline.id) || !pipeline.copies.has(host)) {
      await host.release(id).catch(() => undefined);
      throw notFound(pipeline.id);
    }
    this.registry.addElement(pipeline, id, type, session.id, host);
    this.#touch(session, pipeline);
    session.objectCount += 1;
    return id;
  }

  /** A full engine refuses another WebRtcEndpoint rather than degrade everyone's (ENGINE_MAX_ENDPOINTS). */
  #assertEndpointCapacity(): void {
    const max = this.config.maxEndpoints;
    if (max === 0) return;
    let endpoints = this.#creatingEndpoints;
    for (const pipeline of this.registry.pipelines()) {
      for (const element of pipeline.elements.values()) if (element.type === 'WebRtcEndpoint') endpoints += 1;
    }
    if (endpoints >= max) {
      throw new KurentoError('NOT_ENOUGH_RESOURCES', `Media server at capacity (${max} WebRtcEndpoints)`);
    }
  }

  /**
   * Where a new element goes: a pipeline's elements live at its home, except WebRtcEndpoints past the first two
   * placed in it, which go to the least loaded host (home included), so that every worker serves every live.
   */
  #placeElement(pipeline: PipelineEntry, type: ObjectType): Placement {
    const home = { host: pipeline.host, release: () => undefined };
    if (type !== 'WebRtcEndpoint') return home;
    // Counted at placement, so that endpoints created at the same moment spread too.
    const placed = pipeline.webRtcEndpointsPlaced++;
    if (this.hosts.hosts.length < 2) return home;
    return placed < HOME_WEBRTC_ENDPOINTS ? home : this.hosts.pick();
  }

  /** Makes the pipeline's copy on `host` once (its home has it from the start). */
  #ensureCopy(pipeline: PipelineEntry, host: MediaHost): Promise<void> {
    let copy = pipeline.copies.get(host);
    if (!copy) {
      copy = host.create(pipeline.id, 'MediaPipeline', {});
      pipeline.copies.set(host, copy);
      copy.catch(() => pipeline.copies.get(host) === copy && pipeline.copies.delete(host));
    }
    return copy;
  }

  /**
   * connect / disconnect between elements of two hosts go through a relay; the connections an element reports
   * include those, and a pipeline's children those of every host. Everything else goes to the host the object
   * lives on.
   */
  async #invokeOn(pipeline: PipelineEntry, id: string, operation: string, params: Params): Promise<unknown> {
    const element = pipeline.elements.get(id);
    const host = element?.host ?? pipeline.host;
    if (!element) {
      // A pipeline's children are on every host holding it: the books know them all.
      if (operation === 'getChildren' && pipeline.copies.size > 1) return [...pipeline.elements.keys()];
      return host.invoke(id, operation, params);
    }
    const p = new ParamReader(params);
    if (operation === 'connect' || operation === 'disconnect') {
      const sinkId = p.string('sink');
      const sink = pipeline.elements.get(sinkId);
      const kinds = kindsOf(p.optionalOneOf('mediaType', KURENTO_MEDIA_TYPES));
      if (sink && sink.host !== host) {
        if (operation === 'connect') await this.relays.connect(pipeline, element, sink, kinds);
        else await this.relays.disconnect(element, sink, kinds);
        return undefined;
      }
      const value = await host.invoke(id, operation, params);
      if (operation === 'connect') this.relays.replacedLocally(sinkId, kinds);
      return value;
    }
    if (operation === 'getSourceConnections' || operation === 'getSinkConnections') {
      const side = operation === 'getSourceConnections' ? 'source' : 'sink';
      const local = ((await host.invoke(id, operation, params)) as Params[]).filter(
        (c) => !isRelayId(c.source) && !isRelayId(c.sink),
      );
      const kinds = kindsOf(p.optionalOneOf('mediaType', KURENTO_MEDIA_TYPES));
      const relayed = this.relays
        .connectionsOf(id, side)
        .filter((c) => kinds.includes(c.kind))
        .map((c) => ({
          source: c.source,
          sink: c.sink,
          type: kurentoMediaType(c.kind),
          sourceDescription: 'default',
          sinkDescription: 'default',
          __module__: 'kurento',
          __type__: 'ElementConnectionData',
        }));
      return [...local, ...relayed];
    }
    return host.invoke(id, operation, params);
  }

  async #invoke(session: Session, p: ParamReader): Promise<Params> {
    const id = p.string('object');
    const operation = p.string('operation');
    const operationParams = p.optionalObject('operationParams') ?? {};
    let value: unknown;
    if (id === SERVER_MANAGER_ID) {
      value = await this.#serverManager.invoke(operation, operationParams);
    } else {
      const pipeline = this.registry.pipelineOf(id);
      if (!pipeline) throw notFound(id);
      this.#touch(session, pipeline);
      value = await this.#invokeOn(pipeline, id, operation, operationParams);
    }
    return value === undefined ? { sessionId: session.id } : { value, sessionId: session.id };
  }

  /** Never fails for an event the object's type accepts, even if the object was already released. */
  #subscribe(session: Session, p: ParamReader): Params {
    const id = p.string('object');
    const name = p.string('type');
    const type = this.registry.typeOf(id) ?? KurentoIds.typeOf(id);
    if (!type) throw notFound(id);
    const event = canonicalEvent(type, name);
    if (!event)
      throw new KurentoError('MEDIA_OBJECT_EVENT_NOT_SUPPORTED', `${type} doesn't accept events of type '${name}'`);
    this.#touch(session, this.registry.pipelineOf(id));
    const subscription = this.subscriptions.add(session.id, id, name, event);
    session.subscriptionIds.add(subscription.id);
    return { value: subscription.id, sessionId: session.id };
  }

  /** Never fails: an unknown or already dropped subscription is fine. */
  #unsubscribe(session: Session, p: ParamReader): Params {
    const subscriptionId = p.string('subscription');
    this.subscriptions.remove(subscriptionId);
    session.subscriptionIds.delete(subscriptionId);
    return { sessionId: session.id };
  }

  async #release(session: Session, p: ParamReader): Promise<Params> {
    const id = p.string('object');
    if (id === SERVER_MANAGER_ID)
      throw new KurentoError('MEDIA_OBJECT_OPERATION_NOT_SUPPORTED', 'The ServerManager cannot be released');
    const pipeline = this.registry.pipelineOf(id);
    if (!pipeline) throw notFound(id);
    await this.#releaseObject(pipeline, id);
    return { sessionId: session.id };
  }

  async #releaseObject(pipeline: PipelineEntry, id: string): Promise<void> {
    if (id === pipeline.id) {
      const copies = [...pipeline.copies.keys()];
      await Promise.all(copies.map((host) => host.release(id).catch(() => undefined)));
    } else {
      await (pipeline.elements.get(id)?.host ?? pipeline.host).release(id).catch(() => undefined);
    }
    this.#forget(this.registry.remove(id));
  }

  async #transaction(session: Session, p: ParamReader, connection: Connection): Promise<Params> {
    const operations = p.raw.operations;
    if (!Array.isArray(operations)) throw new KurentoError('MALFORMED_TRANSACTION', "'operations' must be an array");
    const responses: Params[] = [];
    const values = new Map<unknown, unknown>();
    for (const operation of operations) {
      if (!isPlainObject(operation) || typeof operation.method !== 'string' || operation.method === 'transaction') {
        throw new KurentoError('MALFORMED_TRANSACTION', 'Malformed transaction operation');
      }
      const handler = Object.hasOwn(this.#handlers, operation.method) ? this.#handlers[operation.method] : undefined;
      try {
        if (!handler) throw new KurentoError('METHOD_NOT_FOUND', `Method '${operation.method}' not found`);
        const raw = isPlainObject(operation.params) ? operation.params : {};
        const params = substituteRefs(raw, values) as Params;
        const result = await handler(session, new ParamReader(params), connection);
        values.set(operation.id, result.value);
        responses.push({ jsonrpc: '2.0', id: operation.id, result });
      } catch (err) {
        responses.push({ jsonrpc: '2.0', id: operation.id, error: KurentoError.from(err).toJSON() });
        break;
      }
    }
    return { value: responses, sessionId: session.id };
  }

  #closeSession(session: Session): Params {
    queueMicrotask(() => this.#expire(session));
    return { sessionId: session.id };
  }

  #ref(session: Session, p: ParamReader): Params {
    const id = p.string('object');
    const pipeline = this.registry.pipelineOf(id);
    if (!pipeline) throw notFound(id);
    this.#touch(session, pipeline);
    return { sessionId: session.id };
  }

  #unref(session: Session, p: ParamReader): Params {
    const id = p.string('object');
    const pipeline = this.registry.pipelineOf(id);
    if (!pipeline) throw notFound(id);
    this.#dropRef(session, pipeline);
    return { sessionId: session.id };
  }

  /** Records that `session` uses `pipeline`, which keeps it alive after the session's creator is gone. */
  #touch(session: Session, pipeline: PipelineEntry | undefined): void {
    if (!pipeline) return;
    pipeline.sessionIds.add(session.id);
    if (pipeline.sessionIds.size > 1) pipeline.everShared = true;
    session.pipelineIds.add(pipeline.id);
  }

  #dropRef(session: Session, pipeline: PipelineEntry): void {
    pipeline.sessionIds.delete(session.id);
    session.pipelineIds.delete(pipeline.id);
    if (pipeline.sessionIds.size > 0) return;
    // KMS never garbage-collects an object that more than one session has touched: only release() ends it.
    if (this.config.kmsFaithful && pipeline.everShared) return;
    void this.#releaseObject(pipeline, pipeline.id);
  }

  /** A session's grace period is over (or it was closed): drop its subscriptions and the pipelines only it used. */
  #expire(session: Session): void {
    if (session.closed) return;
    session.close();
    this.sessions.delete(session.id);
    for (const subscriptionId of session.subscriptionIds) this.subscriptions.remove(subscriptionId);
    session.subscriptionIds.clear();
    for (const pipelineId of [...session.pipelineIds]) {
      const pipeline = this.registry.pipelineOf(pipelineId);
      if (pipeline) this.#dropRef(session, pipeline);
    }
    session.pipelineIds.clear();
  }

  /** Books removed objects out: subscriptions, per-session counts and refs, ObjectDestroyed. */
  #forget(entries: (PipelineEntry | ElementEntry)[]): void {
    if (entries.length === 0) return;
    this.subscriptions.removeObjects(entries.map((e) => e.id));
    for (const entry of entries) {
      if ('sessionIds' in entry) this.relays.pipelineGone(entry.id);
      else this.relays.elementGone(entry.id);
    }
    for (const entry of entries) {
      const creator = this.sessions.get(entry.creatorId);
      if (creator) creator.objectCount = Math.max(0, creator.objectCount - 1);
      if ('sessionIds' in entry) {
        for (const sessionId of entry.sessionIds) this.sessions.get(sessionId)?.pipelineIds.delete(entry.id);
      }
      this.#deliver(SERVER_MANAGER_ID, 'ObjectDestroyed', serverManagerEvent('ObjectDestroyed', entry.id));
    }
  }

  /**
   * A host died. The pipelines it was home to are gone (an Error on each; their copies elsewhere are released); of
   * the other pipelines, only its elements are gone (an Error on each): a live loses only the viewers it served.
   */
  #hostGone(host: MediaHost, error: Error): void {
    const lost: string[] = [];
    for (const pipeline of this.registry.pipelines()) {
      if (pipeline.host === host) {
        lost.push(pipeline.id);
        for (const copy of pipeline.copies.keys())
          if (copy !== host) void copy.release(pipeline.id).catch(() => undefined);
        continue;
      }
      for (const element of pipeline.elements.values()) if (element.host === host) lost.push(element.id);
    }
    this.relays.hostGone(host);
    for (const id of lost) {
      const now = Date.now();
      this.#deliver(id, 'Error', {
        source: id,
        tags: [],
        timestampMillis: String(now),
        timestamp: String(Math.floor(now / 1000)),
        type: 'MEDIA_OBJECT_NOT_AVAILABLE',
        description: `Media worker lost: ${error.message}`,
        errorCode: 40108,
      });
    }
    this.#forget(this.registry.removeHost(host));
  }

  /** Sends an event to every session subscribed to it, under the name each subscribed with. */
  #deliver(objectId: string, event: string, data: Params): void {
    const listeners = this.subscriptions.listeners(objectId, event);
    if (!listeners) return;
    for (const subscription of listeners) {
      const connection = this.sessions.get(subscription.sessionId)?.connection;
      if (!connection) continue;
      const named = subscription.name === event ? data : { ...data, type: subscription.name };
      connection.send(eventFrame(objectId, subscription.name, named));
    }
  }
}

/**
 * Sends an object's create to the host it was placed on, then drops the placement's reservation: from then on the
 * create in flight counts in the host's load, until its answer brings the host's own count (no gap between the two).
 */
function createPlaced(placement: Placement, id: string, type: ObjectType, params: Params): Promise<void> {
  const created = placement.host.create(id, type, params);
  placement.release();
  return created;
}

function notFound(id: string): KurentoError {
  return new KurentoError('MEDIA_OBJECT_NOT_FOUND', `Object '${id}' not found`);
}

function serverManagerEvent(type: string, objectId: string): Params {
  const now = Date.now();
  return {
    source: SERVER_MANAGER_ID,
    tags: [],
    timestampMillis: String(now),
    timestamp: String(Math.floor(now / 1000)),
    type,
    object: objectId,
  };
}

/** Replaces "newref:N" strings, anywhere in the params, by the value operation N returned. */
function substituteRefs(value: unknown, values: Map<unknown, unknown>): unknown {
  if (typeof value === 'string' && value.startsWith('newref:')) {
    const ref = value.slice('newref:'.length);
    const key = values.has(Number(ref)) ? Number(ref) : ref;
    if (!values.has(key)) throw new KurentoError('MALFORMED_TRANSACTION', `Unknown reference '${value}'`);
    return values.get(key);
  }
  if (Array.isArray(value)) return value.map((v) => substituteRefs(v, values));
  if (isPlainObject(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteRefs(v, values)]));
  return value;
}

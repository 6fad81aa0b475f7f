/**
 * JSON-RPC 2.0 framing as Kurento uses it: one object per WebSocket text frame, requests with integer
 * ids, notifications (onEvent) without id. Parsing never throws: a bad frame becomes a KurentoError
 * with the id recovered when possible, so the server can answer it and keep serving.
 */
import { KurentoError, type KmsErrorJson } from './KurentoError.js';

export type RpcId = number | string | null;
export type Params = Record<string, unknown>;

export interface RpcRequest {
  id: RpcId;
  /** false for a notification (no id): it gets no response. */
  expectsResponse: boolean;
  method: string;
  params: Params;
}

export type ParsedFrame =
  { kind: 'request'; request: RpcRequest } | { kind: 'ignored' } | { kind: 'invalid'; id: RpcId; error: KurentoError };

/** Parses one text frame. Responses sent to the server and frames that are not JSON-RPC 2.0 are reported as such. */
export function parseFrame(text: string): ParsedFrame {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return { kind: 'invalid', id: null, error: new KurentoError('PARSE_ERROR', 'Parse error') };
  }
  if (!isPlainObject(message)) {
    return { kind: 'invalid', id: null, error: new KurentoError('INVALID_REQUEST', 'Invalid request: not an object') };
  }
  const id = validId(message.id);
  if (message.jsonrpc !== '2.0') {
    return {
      kind: 'invalid',
      id,
      error: new KurentoError('INVALID_REQUEST', "Invalid request: jsonrpc must be '2.0'"),
    };
  }
  if (message.method === undefined && ('result' in message || 'error' in message)) return { kind: 'ignored' };
  if (typeof message.method !== 'string' || message.method.length === 0) {
    return {
      kind: 'invalid',
      id,
      error: new KurentoError('INVALID_REQUEST', 'Invalid request: method must be a string'),
    };
  }
  if (message.params !== undefined && !isPlainObject(message.params)) {
    return {
      kind: 'invalid',
      id,
      error: new KurentoError('INVALID_PARAMS', 'Invalid params: params must be an object'),
    };
  }
  const params = message.params ?? {};
  return { kind: 'request', request: { id, expectsResponse: 'id' in message, method: message.method, params } };
}

/** Best effort to find the id of a frame too large to parse (the client writes `"id":N` last). */
export function sniffId(text: string): RpcId {
  const tail = /"id"\s*:\s*(\d{1,15})\s*\}\s*$/.exec(text.slice(-64));
  if (tail?.[1]) return Number(tail[1]);
  const head = /^\s*\{[^{]{0,64}?"id"\s*:\s*(\d{1,15})/.exec(text.slice(0, 128));
  return head?.[1] ? Number(head[1]) : null;
}

export function resultFrame(id: RpcId, result: Params): string {
  return JSON.stringify({ jsonrpc: '2.0', id, result });
}

export function errorFrame(id: RpcId, error: KmsErrorJson): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error });
}

/** An onEvent notification: no id, the event under params.value. */
export function eventFrame(object: string, type: string, data: Params): string {
  return JSON.stringify({ jsonrpc: '2.0', method: 'onEvent', params: { value: { data, object, type } } });
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function validId(id: unknown): RpcId {
  return typeof id === 'number' || typeof id === 'string' ? id : null;
}

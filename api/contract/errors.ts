/**
 * The closed list of error codes onair answers with, over REST and socket.io alike.
 * Shared with the front end; pinned by tests/unit/errors.test.ts so that codes never drift.
 * Each code maps to the HTTP status a REST route answers with.
 */
export const ERROR_CODES = {
  // request shape
  'request.invalid': 400,
  'request.tooLarge': 413,
  'request.rateLimited': 429,
  'request.notFound': 404,
  /** A body of a type the route does not take (WHIP/WHEP: anything but `application/sdp`). */
  'request.unsupportedType': 415,
  /** WHIP/WHEP PATCH: `If-Match` does not name the session's current ETag. */
  'request.preconditionFailed': 412,
  /** Too many open sockets for this account or this address (socket.io `connect_error` data). */
  'request.tooManyConnections': 429,
  // accounts
  'auth.required': 401,
  'auth.invalidToken': 401,
  'auth.expiredToken': 401,
  'auth.invalidCredentials': 401,
  'auth.nicknameTaken': 409,
  'auth.weakPassword': 400,
  // lives and signalling
  'live.notFound': 404,
  'live.ended': 410,
  'live.alreadyLive': 409,
  'live.notPresenter': 403,
  'live.notWatching': 409,
  'sdp.invalid': 400,
  'ice.invalid': 400,
  'media.unavailable': 503,
  /** No media server has room (MEDIA_SERVER_CAPACITY, or the engine's ENGINE_MAX_ENDPOINTS): a new viewer (or
   * presenter) is turned away rather than degrade everyone; try again later. */
  'media.capacity': 503,
  'media.failed': 502,
  /** WHIP/WHEP PATCH asking for an ICE restart, which onair does not do (RFC 9725 §4.3.2: 422). */
  'ice.restartUnsupported': 422,
  // WHIP ingest: stream keys
  'whip.keyNotFound': 404,
  'whip.tooManyKeys': 409,
  // recordings (VOD)
  'recording.notFound': 404,
  'recording.forbidden': 403,
  'recording.badRange': 416,
  'recording.invalidSignature': 403,
  'recording.expiredSignature': 403,
  // calls
  'call.notFound': 404,
  'call.self': 400,
  'call.userNotFound': 404,
  'call.userOffline': 409,
  'call.busy': 409,
  'call.notYours': 403,
  'call.alreadyAnswered': 409,
  'call.ended': 410,
  // the server itself
  'server.starting': 503,
  // chat and reactions of a live
  'chat.tooLong': 400,
  'chat.rateLimited': 429,
  'chat.slowMode': 429,
  'chat.muted': 403,
  'chat.unavailable': 409,
  'chat.messageNotFound': 404,
  // anything else
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The one error payload shape: REST bodies are `{ error }`, socket acks `{ ok: false, error }`. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
}

/** Socket.io acknowledgement: one shape for every event. */
export type Ack<T extends object = object> = ({ ok: true } & T) | { ok: false; error: ErrorBody };

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** An error that carries a code from the closed list; thrown by services, rendered by the HTTP and socket layers. */
export class OnairError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'OnairError';
    this.code = code;
    this.status = ERROR_CODES[code];
  }
  toBody(): ErrorBody {
    return { code: this.code, message: this.message };
  }
}

import { isErrorCode, OnairError, type ErrorCode } from '../../../api/contract/errors.js';

/** Status used when the request never got an answer. */
export const NO_RESPONSE = 0;

const UNREACHABLE_MESSAGE = 'Cannot reach the onair server. Check your connection and try again.';

/**
 * A failed API call: the server's error code and message (the closed list of api/contract/errors.ts),
 * plus the HTTP status it came with (`NO_RESPONSE` when there was no answer).
 */
export class ApiError extends OnairError {
  readonly httpStatus: number;
  /** True when the onair server itself was not reached (offline, server down, proxy error). */
  readonly unreachable: boolean;

  constructor(code: ErrorCode, message: string, httpStatus: number, unreachable = false) {
    super(code, message);
    this.name = 'ApiError';
    this.httpStatus = httpStatus;
    this.unreachable = unreachable;
  }

  /** Builds the error from a non-2xx response; tolerates bodies that are not onair's error shape. */
  static fromResponse(httpStatus: number, body: unknown): ApiError {
    const error = (body as { error?: { code?: unknown; message?: unknown } } | null | undefined)?.error;
    if (error && isErrorCode(error.code)) {
      const message = typeof error.message === 'string' && error.message ? error.message : error.code;
      return new ApiError(error.code, message, httpStatus);
    }
    // A gateway error without onair's body: the server behind it is down.
    if (httpStatus >= 502 && httpStatus <= 504) return new ApiError('internal', UNREACHABLE_MESSAGE, httpStatus, true);
    return new ApiError('internal', `The server answered with an unexpected error (HTTP ${httpStatus}).`, httpStatus);
  }

  static unreachable(): ApiError {
    return new ApiError('internal', UNREACHABLE_MESSAGE, NO_RESPONSE, true);
  }
}

/** A message fit to show to the user for any thrown value. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error && error.message) return sentence(error.message);
  return 'Something went wrong. Please try again.';
}

/** The server words its messages as lower-case clauses ("the nickname is taken"); shown as a sentence. */
export function sentence(message: string): string {
  const text = message.trim();
  if (!text) return text;
  const capitalised = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}

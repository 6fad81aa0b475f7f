import { isErrorCode, OnairError, type ErrorCode } from '../../../api/contract/errors.js';
import { t } from '../i18n/index.js';

/** Status used when the request never got an answer. */
export const NO_RESPONSE = 0;

const UNREACHABLE_MESSAGE = 'Cannot reach the onair server. Check your connection and try again.';

/** Front-end errors that are not one of the server's codes, by catalog key (errors.client.*). */
export type ClientErrorKey = 'unreachable' | 'unexpected' | 'noAnswer' | 'closed' | 'unexpectedAnswer' | 'signIn';

/**
 * A failed API call: the server's error code and message (the closed list of api/contract/errors.ts),
 * plus the HTTP status it came with (`NO_RESPONSE` when there was no answer).
 */
export class ApiError extends OnairError {
  readonly httpStatus: number;
  /** True when the onair server itself was not reached (offline, server down, proxy error). */
  readonly unreachable: boolean;
  /** Set when the error was made here rather than answered by the server: what to show (errors.client.*). */
  readonly clientKey: ClientErrorKey | undefined;

  constructor(code: ErrorCode, message: string, httpStatus: number, unreachable = false, clientKey?: ClientErrorKey) {
    super(code, message);
    this.name = 'ApiError';
    this.httpStatus = httpStatus;
    this.unreachable = unreachable;
    this.clientKey = clientKey ?? (unreachable ? 'unreachable' : undefined);
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
    return new ApiError(
      'internal',
      `The server answered with an unexpected error (HTTP ${httpStatus}).`,
      httpStatus,
      false,
      'unexpected',
    );
  }

  static unreachable(): ApiError {
    return new ApiError('internal', UNREACHABLE_MESSAGE, NO_RESPONSE, true);
  }
}

/**
 * A message fit to show to the user for any thrown value, in the chosen language: an ApiError by its code (the
 * catalog has a message for every code of the contract), or by what went wrong here (no answer, unreachable).
 */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.clientKey) return t(`errors.client.${error.clientKey}`, { status: error.httpStatus });
    return t(`errors.${error.code}`);
  }
  if (error instanceof Error && 'messageKey' in error && typeof error.messageKey === 'string')
    return t(error.messageKey);
  return t('errors.client.generic');
}

/** The server words its messages as lower-case clauses ("the nickname is taken"); shown as a sentence. */
export function sentence(message: string): string {
  const text = message.trim();
  if (!text) return text;
  const capitalised = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}

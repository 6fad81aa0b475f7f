/**
 * The one error shape of the API, `{ "error": { "code", "message" } }`, for every failure: thrown OnairErrors,
 * body-parser errors (413 `request.tooLarge`, 400 `request.invalid`), unknown routes (404 `request.notFound`) and
 * anything unexpected (500 `internal`, whose details stay in the log). pino-http logs each request once; the error
 * code (and for a 500 the error itself) rides on that line.
 */
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { OnairError } from '../contract/errors.js';
import type { ErrorResponse } from '../contract/rest.js';
import { contractError } from '../mediaErrors.js';

interface HttpError extends Error {
  type?: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
}

/** Maps any thrown value to an OnairError. */
export function toOnairError(err: unknown): OnairError {
  const known = contractError(err);
  if (known) return known;
  const e = err as HttpError;
  switch (e?.type) {
    case 'entity.too.large':
      return new OnairError('request.tooLarge', 'the request body is too large');
    case 'entity.parse.failed':
      return new OnairError('request.invalid', 'the request body is not valid JSON');
    case 'encoding.unsupported':
    case 'charset.unsupported':
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new OnairError('request.invalid', 'the request body cannot be read');
  }
  const status = e?.status ?? e?.statusCode;
  if (status === 404) return new OnairError('request.notFound', 'not found');
  if (status === 413) return new OnairError('request.tooLarge', 'the request is too large');
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // express's own 4xx (e.g. a path parameter that is not valid percent-encoding) may not be meant to be shown.
    return new OnairError('request.invalid', e.expose ? e.message : 'the request is malformed');
  }
  return new OnairError('internal', 'something went wrong on our side');
}

export function sendError(res: Response, error: OnairError): void {
  res.locals.errorCode = error.code;
  const body: ErrorResponse = { error: error.toBody() };
  res.status(error.status).json(body);
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new OnairError('request.notFound', `no route for ${req.method} ${req.path}`));
};

export const errorHandler: ErrorRequestHandler = (err: unknown, _req, res, next) => {
  const error = toOnairError(err);
  // For pino-http's one line per request: a 500 carries the original error and its stack.
  if (error.code === 'internal') res.err = err instanceof Error ? err : new Error(String(err));
  if (res.headersSent) return next(err);
  sendError(res, error);
};

/**
 * Structured JSON logs (pino). Secrets never reach the log: credentials, tokens and cookies are redacted
 * wherever they appear in a logged object (request headers included).
 */
import { pino, type Logger, type DestinationStream } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'authorization',
  'password',
  'passwordHash',
  'token',
  'secret',
  '*.password',
  '*.passwordHash',
  '*.token',
  '*.secret',
];

/** The process logger; `destination` lets tests capture lines. */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'onair' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}

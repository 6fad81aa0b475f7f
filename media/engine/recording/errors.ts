/**
 * The recording module's closed error vocabulary. Bad arguments are plain TypeErrors.
 * - UnsupportedError: a profile or codec the recorder cannot honour.
 * - InvalidStateError: an operation in the wrong state (record twice, play after close).
 * - MediaFileError: a file that cannot be opened, read or written (missing, not WebM, disk full).
 */
export class UnsupportedError extends Error {
  override name = 'UnsupportedError';
}

export class InvalidStateError extends Error {
  override name = 'InvalidStateError';
}

export class MediaFileError extends Error {
  override name = 'MediaFileError';
  readonly path: string;

  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.path = path;
  }
}

/** A short reason for an I/O error: its code when it has one. */
export function ioReason(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.message : String(error);
}

/**
 * kurento-utils logs every SDP and candidate at debug level through `window.Logger` (else the console), read once
 * when it loads: imported before it, this keeps its warnings and errors only.
 */
const quiet = (): void => undefined;

(window as unknown as { Logger?: Partial<Console> }).Logger = {
  debug: quiet,
  info: quiet,
  log: quiet,
  warn: (...args: unknown[]) => console.warn(...args),
  error: (...args: unknown[]) => console.error(...args),
};

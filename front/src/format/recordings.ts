/**
 * How recordings' figures read in the library: the same helpers as the lives (format/index.ts), so that a duration is
 * rounded once, down like the video player's clock, and dates follow the chosen language.
 */
import { formatDateTime, formatDuration as formatLiveDuration } from './index.js';

/** `4:05`, `1:02:03`; an unknown (or negative) duration is a dash. */
export function formatDuration(ms: number | null): string {
  return ms !== null && ms < 0 ? '–' : formatLiveDuration(ms);
}

/** A start time in the chosen language and the user's time zone. */
export function formatDate(iso: string): string {
  return formatDateTime(iso);
}

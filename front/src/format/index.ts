/**
 * How times, durations and counts read, in the chosen language (i18n) and the user's time zone, through Intl.
 * One rounding of durations everywhere: whole seconds are cut (floor), as the browser's video player does.
 */
import { currentLocale, t } from '../i18n/index.js';

const cache = new Map<string, Intl.DateTimeFormat | Intl.RelativeTimeFormat | Intl.NumberFormat>();

function cached<T extends Intl.DateTimeFormat | Intl.RelativeTimeFormat | Intl.NumberFormat>(
  key: string,
  make: (locale: string) => T,
): T {
  const locale = currentLocale();
  const id = `${locale}|${key}`;
  let format = cache.get(id) as T | undefined;
  if (!format) {
    format = make(locale);
    cache.set(id, format);
  }
  return format;
}

const clock = () =>
  cached('clock', (l) => new Intl.DateTimeFormat(l, { hour: '2-digit', minute: '2-digit', second: '2-digit' }));
const shortClock = () =>
  cached('shortClock', (l) => new Intl.DateTimeFormat(l, { hour: '2-digit', minute: '2-digit' }));
const dateTime = () =>
  cached('dateTime', (l) => new Intl.DateTimeFormat(l, { dateStyle: 'medium', timeStyle: 'short' }));
const relative = () => cached('relative', (l) => new Intl.RelativeTimeFormat(l, { numeric: 'auto', style: 'long' }));
const integer = () => cached('integer', (l) => new Intl.NumberFormat(l, { maximumFractionDigits: 0 }));
const twoDigits = () =>
  cached('twoDigits', (l) => new Intl.NumberFormat(l, { minimumIntegerDigits: 2, useGrouping: false }));
const plain = () => cached('plain', (l) => new Intl.NumberFormat(l, { useGrouping: false }));

/** `14:03:27`: when a viewer came or went. */
export function formatClock(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : clock().format(date);
}

/** `14:03`. */
export function formatShortClock(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : shortClock().format(date);
}

/** A date and time: `Mar 4, 2026, 14:03` / `2026年3月4日 14:03`. */
export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '–' : dateTime().format(date);
}

/** Whole seconds of a duration, the one rounding used everywhere (cut, as the video player's clock). */
export function durationSeconds(ms: number): number {
  return Math.max(0, Math.floor(ms / 1000));
}

/** A duration as a clock: `0:42`, `12:05`, `1:02:03`; an unknown one is a dash. */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '–';
  const total = durationSeconds(ms);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = twoDigits().format(total % 60);
  return h > 0 ? `${plain().format(h)}:${twoDigits().format(m)}:${s}` : `${plain().format(m)}:${s}`;
}

/** Time on air: `0:42`, `12:05`, `1:02:03`. */
export function formatElapsed(ms: number): string {
  return formatDuration(ms);
}

/** `just now`, `5 minutes ago`, `2 hours ago` (`刚刚`, `5分钟前`). */
export function formatSince(iso: string, now: number): string {
  const then = new Date(iso).getTime();
  if (Number.isNaN(then)) return '';
  const seconds = Math.round((then - now) / 1000);
  if (seconds > -60) return t('format.justNow');
  const minutes = Math.round(seconds / 60);
  if (minutes > -60) return relative().format(minutes, 'minute');
  const hours = Math.round(minutes / 60);
  if (hours > -24) return relative().format(hours, 'hour');
  return relative().format(Math.round(hours / 24), 'day');
}

/** A count: `1,234` / `1,234`. */
export function formatCount(count: number): string {
  return integer().format(count);
}

/** A live's viewer count: `1 viewer`, `3 viewers`, `3 位观众`. */
export function formatViewers(count: number): string {
  return t('format.viewers', { count: formatCount(count) }, count);
}

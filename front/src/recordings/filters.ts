/**
 * The library's filters as the page holds them, and their two translations: to the API's query
 * (api/contract/rest.ts `RecordingListQuery`) and to and from the page's address, so that a filtered view can be
 * reloaded and shared.
 */
import type { LocationQuery, LocationQueryRaw } from 'vue-router';
import { RECORDING_PAGE_SIZE_DEFAULT, RECORDING_SORTS, type RecordingSort } from '../../../api/contract/rest.js';

export const DURATION_PRESETS = {
  any: { label: 'recordings.lengths.any', min: undefined, max: undefined },
  short: { label: 'recordings.lengths.short', min: undefined, max: 5 * 60_000 },
  medium: { label: 'recordings.lengths.medium', min: 5 * 60_000, max: 30 * 60_000 },
  long: { label: 'recordings.lengths.long', min: 30 * 60_000, max: 60 * 60_000 },
  longest: { label: 'recordings.lengths.longest', min: 60 * 60_000, max: undefined },
} as const satisfies Record<string, { label: string; min: number | undefined; max: number | undefined }>;
export type DurationPreset = keyof typeof DURATION_PRESETS;

export const PAGE_SIZES = [10, 20, 50, 100];

export interface LibraryFilters {
  q: string;
  presenter: string;
  location: string;
  /** Local calendar days, `YYYY-MM-DD`, both included. */
  days: [string, string] | null;
  duration: DurationPreset;
  mine: boolean;
  sort: RecordingSort;
  order: 'asc' | 'desc';
  page: number;
  size: number;
}

export function defaultFilters(): LibraryFilters {
  return { q: '', presenter: '', location: '', days: null, duration: 'any', mine: false, sort: 'startedAt', order: 'desc', page: 1, size: RECORDING_PAGE_SIZE_DEFAULT };
}

/** True when something narrows the library (paging and sorting do not). */
export function isFiltered(f: LibraryFilters): boolean {
  return !!(f.q.trim() || f.presenter.trim() || f.location.trim() || f.days || f.duration !== 'any' || f.mine);
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Local midnight of a `YYYY-MM-DD` day, as an ISO instant; `plusDays` moves it. */
function localMidnight(day: string, plusDays = 0): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(y, m - 1, d + plusDays).toISOString();
}

/** The API query of the filters (absent values left out). */
export function toApiQuery(f: LibraryFilters): Record<string, string | number | boolean | undefined> {
  const duration = DURATION_PRESETS[f.duration];
  // A search left in the default order is ranked by the server (best match first).
  const ranked = !!f.q.trim() && f.sort === 'startedAt' && f.order === 'desc';
  return {
    page: f.page,
    size: f.size,
    q: f.q.trim() || undefined,
    presenter: f.presenter.trim() || undefined,
    location: f.location.trim() || undefined,
    from: f.days ? localMidnight(f.days[0]) : undefined,
    to: f.days ? localMidnight(f.days[1], 1) : undefined,
    minDurationMs: duration.min,
    maxDurationMs: duration.max,
    mine: f.mine ? true : undefined,
    sort: ranked ? undefined : f.sort,
    order: ranked ? undefined : f.order,
  };
}

/** The page address of the filters: only what differs from the defaults. */
export function toRouteQuery(f: LibraryFilters): LocationQueryRaw {
  const d = defaultFilters();
  const query: LocationQueryRaw = {};
  if (f.q.trim()) query.q = f.q.trim();
  if (f.presenter.trim()) query.presenter = f.presenter.trim();
  if (f.location.trim()) query.location = f.location.trim();
  if (f.days) query.days = `${f.days[0]}..${f.days[1]}`;
  if (f.duration !== d.duration) query.duration = f.duration;
  if (f.mine) query.mine = '1';
  if (f.sort !== d.sort || f.order !== d.order) query.sort = `${f.sort}.${f.order}`;
  if (f.page !== d.page) query.page = String(f.page);
  if (f.size !== d.size) query.size = String(f.size);
  return query;
}

/** Filters from a page address; anything unexpected falls back to its default. */
export function fromRouteQuery(query: LocationQuery): LibraryFilters {
  const f = defaultFilters();
  const one = (key: string): string => {
    const value = query[key];
    return typeof value === 'string' ? value : '';
  };
  f.q = one('q').slice(0, 200);
  f.presenter = one('presenter').slice(0, 32);
  f.location = one('location').slice(0, 100);
  const days = one('days').split('..');
  if (days.length === 2 && DAY.test(days[0]!) && DAY.test(days[1]!) && days[0]! <= days[1]!) f.days = [days[0]!, days[1]!];
  if (Object.hasOwn(DURATION_PRESETS, one('duration'))) f.duration = one('duration') as DurationPreset;
  f.mine = one('mine') === '1';
  const [sort, order] = one('sort').split('.');
  if ((RECORDING_SORTS as readonly string[]).includes(sort ?? '') && (order === 'asc' || order === 'desc')) {
    f.sort = sort as RecordingSort;
    f.order = order;
  }
  const page = Number(one('page'));
  if (Number.isInteger(page) && page >= 1 && page <= 100_000) f.page = page;
  const size = Number(one('size'));
  if (PAGE_SIZES.includes(size)) f.size = size;
  return f;
}

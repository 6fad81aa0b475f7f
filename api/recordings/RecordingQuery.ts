/**
 * The library's query: `GET /api/recordings` parameters validated by zod (scalars only, bounded, no unknown
 * keys), then turned into Sequelize `where`/`order` built from whitelisted columns. Request values only ever
 * reach the database as bound values, never as column names, operators or SQL.
 */
import { col, fn, literal, Op, where as sqlWhere, type Order, type WhereOptions } from 'sequelize';
import { z } from 'zod';
import {
  NICKNAME_MAX, NICKNAME_PATTERN, RECORDING_PAGE_SIZE_DEFAULT, RECORDING_PAGE_SIZE_MAX, RECORDING_SORTS,
  type RecordingSort, type RecordingStatus,
} from '../contract/rest.js';

/** Statuses the library shows: finished recordings, whole or cut short. */
export const LIBRARY_STATUSES: readonly RecordingStatus[] = ['ready', 'incomplete'];

const INT32_MAX = 2_147_483_647;
const PAGE_MAX = 1_000_000;

/** An empty parameter (`?location=`) counts as absent. */
const optional = <T extends z.ZodTypeAny>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const whole = (min: number, max: number) =>
  z.string().regex(/^\d{1,10}$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(min).max(max));

/** `2025-03-30` (midnight UTC) or an ISO 8601 date-time with its offset (`2025-03-30T10:00:00Z`). */
const instant = z
  .string()
  .max(40)
  .refine((s) => /^\d{4}-\d{2}-\d{2}$/.test(s) || z.string().datetime({ offset: true }).safeParse(s).success, 'must be an ISO 8601 date or date-time')
  .transform((s) => new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00.000Z` : s))
  .refine((d) => !Number.isNaN(d.getTime()), 'must be a valid date');

const text = (max: number) => z.string().trim().min(1, 'must not be blank').max(max, `must be at most ${max} characters`);

export const recordingListQuerySchema = z
  .object({
    page: optional(whole(1, PAGE_MAX)),
    size: optional(whole(1, RECORDING_PAGE_SIZE_MAX)),
    from: optional(instant),
    to: optional(instant),
    minDurationMs: optional(whole(0, INT32_MAX)),
    maxDurationMs: optional(whole(0, INT32_MAX)),
    location: optional(text(100)),
    q: optional(text(200)),
    presenter: optional(z.string().regex(/^\d{1,10}$|^[A-Za-z0-9_.-]+$/, 'must be a nickname or a user id').max(NICKNAME_MAX)),
    mine: optional(z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')),
    sort: optional(z.enum(RECORDING_SORTS, { errorMap: () => ({ message: `must be one of ${RECORDING_SORTS.join(', ')}` }) })),
    order: optional(z.enum(['asc', 'desc'], { errorMap: () => ({ message: 'must be asc or desc' }) })),
  })
  .strict('unknown query parameter')
  .superRefine((q, ctx) => {
    if (q.from && q.to && q.from.getTime() > q.to.getTime()) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['from'], message: 'must not be after to' });
    }
    if (q.minDurationMs !== undefined && q.maxDurationMs !== undefined && q.minDurationMs > q.maxDurationMs) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['minDurationMs'], message: 'must not be more than maxDurationMs' });
    }
  })
  .transform((q) => ({
    ...q,
    page: q.page ?? 1,
    size: q.size ?? RECORDING_PAGE_SIZE_DEFAULT,
    mine: q.mine ?? false,
    sort: q.sort ?? ('startedAt'),
    order: q.order ?? ('desc'),
  }));

/** A validated list query, defaults applied. */
export type RecordingFilters = z.output<typeof recordingListQuerySchema>;

/** Presenter ids a `presenter` parameter may mean: the id it spells, and the user with that nickname. */
export function presenterCandidates(presenter: string): { id: number | null; nickname: string | null } {
  const id = /^\d{1,10}$/.test(presenter) && Number(presenter) <= INT32_MAX ? Number(presenter) : null;
  const nickname = NICKNAME_PATTERN.test(presenter) ? presenter : null;
  return { id, nickname };
}

/** Lives that are calls: their recordings are their owner's only. A constant: no request value inside. */
const CALL_LIVES = literal("(SELECT lives.id FROM lives WHERE lives.kind = 'call')");

/** Text contained in a column, case-insensitively (a bound value, so `%` and `_` are plain characters). */
function contains(column: 'title' | 'location', needle: string) {
  return sqlWhere(fn('instr', fn('lower', col(`Recording.${column}`)), needle.toLowerCase()), Op.gt, 0);
}

/**
 * The filters of a list query, before visibility: the library's statuses and every filter given. `presenterIds`
 * are the users a `presenter` filter resolved to (empty: nobody, so nothing matches), or null without that filter.
 */
export function filterWhere(filters: RecordingFilters, viewerId: number, presenterIds: number[] | null): WhereOptions[] {
  const and: WhereOptions[] = [{ status: [...LIBRARY_STATUSES] }];
  if (filters.from) and.push({ startedAt: { [Op.gte]: filters.from } });
  if (filters.to) and.push({ startedAt: { [Op.lt]: filters.to } });
  if (filters.minDurationMs !== undefined) and.push({ durationMs: { [Op.gte]: filters.minDurationMs } });
  if (filters.maxDurationMs !== undefined) and.push({ durationMs: { [Op.lte]: filters.maxDurationMs } });
  if (filters.location) and.push(contains('location', filters.location));
  if (filters.q) and.push(contains('title', filters.q));
  if (filters.mine) and.push({ userId: viewerId });
  if (presenterIds) and.push({ userId: presenterIds.length ? presenterIds : [-1] });
  return and;
}

/** What `viewerId` may see: everything but other people's call recordings. */
export function visibleTo(viewerId: number): WhereOptions {
  return { [Op.or]: [{ userId: viewerId }, { liveId: null }, { liveId: { [Op.notIn]: CALL_LIVES } }] };
}

/** What `viewerId` may not see: other people's call recordings (few: found through the lives that are calls). */
export function hiddenFrom(viewerId: number): WhereOptions {
  return { userId: { [Op.ne]: viewerId }, liveId: { [Op.in]: CALL_LIVES } };
}

/** The `where` of a list query seen by user `viewerId`. */
export function listWhere(filters: RecordingFilters, viewerId: number, presenterIds: number[] | null): WhereOptions {
  return { [Op.and]: [...filterWhere(filters, viewerId, presenterIds), visibleTo(viewerId)] };
}

/**
 * The `order` of a list query: the whitelisted column, then the id (a stable order for paging). Each order is
 * an index's own (location's index holds the start time before the id), so a page is read, not sorted.
 */
export function listOrder(filters: Pick<RecordingFilters, 'sort' | 'order'>): Order {
  const column: RecordingSort = RECORDING_SORTS.includes(filters.sort) ? filters.sort : 'startedAt';
  const direction = filters.order === 'asc' ? 'ASC' : 'DESC';
  return column === 'location'
    ? [['location', direction], ['startedAt', direction], ['id', direction]]
    : [[column, direction], ['id', direction]];
}

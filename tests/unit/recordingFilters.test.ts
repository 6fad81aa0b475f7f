import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  defaultFilters,
  fromRouteQuery,
  isFiltered,
  toApiQuery,
  toRouteQuery,
} from '../../front/src/recordings/filters.js';
import { formatDuration } from '../../front/src/format/recordings.js';

describe('the Recordings page filters', () => {
  it('default filters ask for the newest 20 and leave the address clean', () => {
    const f = defaultFilters();
    assert.deepEqual(toRouteQuery(f), {});
    assert.equal(isFiltered(f), false);
    const q = toApiQuery(f);
    assert.equal(q.page, 1);
    assert.equal(q.size, 20);
    assert.equal(q.sort, 'startedAt');
    assert.equal(q.order, 'desc');
    assert.equal(q.from, undefined);
    assert.equal(q.mine, undefined);
  });

  it('round-trip through the page address', () => {
    const f = {
      ...defaultFilters(),
      q: 'concert',
      presenter: 'ann',
      location: 'Paris',
      days: ['2025-03-01', '2025-03-07'] as [string, string],
      duration: 'medium' as const,
      mine: true,
      sort: 'durationMs' as const,
      order: 'asc' as const,
      page: 3,
      size: 50,
    };
    const query = toRouteQuery(f) as Record<string, string>;
    assert.deepEqual(fromRouteQuery(query), f);
    assert.equal(isFiltered(f), true);
  });

  it('turn days into local-midnight instants, the end day included, and presets into milliseconds', () => {
    const q = toApiQuery({ ...defaultFilters(), days: ['2025-03-01', '2025-03-07'], duration: 'medium' });
    assert.equal(q.from, new Date(2025, 2, 1).toISOString());
    assert.equal(q.to, new Date(2025, 2, 8).toISOString());
    assert.equal(q.minDurationMs, 5 * 60_000);
    assert.equal(q.maxDurationMs, 30 * 60_000);
  });

  it('ignore whatever in an address is not a filter value', () => {
    const f = fromRouteQuery({
      sort: 'passwordHash.asc',
      order: 'x',
      page: '-2',
      size: '7',
      days: '2025-03-09..2025-03-01',
      duration: 'toString',
      mine: 'yes',
      q: ['a', 'b'],
    });
    assert.deepEqual(f, defaultFilters());
  });

  it('durations read as m:ss or h:mm:ss', () => {
    assert.equal(formatDuration(0), '0:00');
    assert.equal(formatDuration(65_400), '1:05');
    assert.equal(formatDuration(3_723_000), '1:02:03');
    assert.equal(formatDuration(null), '–');
    assert.equal(formatDuration(-1), '–');
  });

  it('durations are cut to whole seconds, as the player and the live pages do (never rounded up)', () => {
    assert.equal(formatDuration(65_600), '1:05');
    assert.equal(formatDuration(59_999), '0:59');
    assert.equal(formatDuration(3_599_999), '59:59');
  });
});

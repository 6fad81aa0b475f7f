/**
 * Indexes of the recordings library's queries at scale: sorting by title, and finding the lives that are calls
 * (whose recordings only their owner sees) without reading every live.
 */
import type { QueryInterface } from 'sequelize';
import type { MigrationFn } from 'umzug';

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.addIndex('recordings', ['title'], { name: 'recordings_title' });
  await qi.addIndex('lives', ['kind'], { name: 'lives_kind' });
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.removeIndex('lives', 'lives_kind');
  await qi.removeIndex('recordings', 'recordings_title');
};

/**
 * `npm run migrate [up]`: apply pending migrations. `npm run migrate down [N|all]`: revert the last N (default 1).
 * `npm run migrate status`: list applied and pending. Uses DATABASE_URL like the server.
 */
import { ConfigError, loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { createMigrator } from './migrator.js';
import { openDatabase } from './index.js';

const USAGE = 'usage: npm run migrate [up | down [N|all] | status]';

async function main(argv: string[]): Promise<number> {
  const [command = 'up', arg] = argv;
  if (!['up', 'down', 'status'].includes(command)) {
    console.error(USAGE);
    return 2;
  }
  let steps: number | 'all' = 1;
  if (command === 'down' && arg !== undefined) {
    if (arg !== 'all' && !/^[1-9]\d*$/.test(arg)) {
      console.error(USAGE);
      return 2;
    }
    steps = arg === 'all' ? 'all' : Number(arg);
  }
  const config = loadConfig();
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const db = await openDatabase(config.databaseUrl, { log });
  try {
    if (command === 'status') {
      const migrator = createMigrator(db.sequelize);
      for (const m of await migrator.executed()) console.log(`applied  ${m.name}`);
      for (const m of await migrator.pending()) console.log(`pending  ${m.name}`);
    } else if (command === 'up') {
      const applied = await db.migrate();
      console.log(applied.length ? applied.map((n) => `applied  ${n}`).join('\n') : 'up to date');
    } else {
      const reverted = await db.migrateDown(steps);
      console.log(reverted.length ? reverted.map((n) => `reverted ${n}`).join('\n') : 'nothing to revert');
    }
    return 0;
  } finally {
    await db.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(
      err instanceof ConfigError ? err.message : `migration failed: ${(err as Error).stack ?? String(err)}`,
    );
    process.exit(1);
  },
);

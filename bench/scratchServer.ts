/**
 * The server a media benchmark drives: a real onair API in this process, with the embedded media engine, a
 * SQLite database and recordings in a scratch folder of its own, silent logs and a loose sign-up limit.
 * `close()` stops it and removes the folder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../api/config.js';
import { startServer } from '../api/server.js';

export interface ScratchServer {
  server: Awaited<ReturnType<typeof startServer>>;
  /** The scratch folder (database, recordings; a bench may put its own files there). */
  dir: string;
  /** The pipelines the media server holds now. */
  pipelines: () => Promise<number>;
  close: () => Promise<void>;
}

export async function startScratchServer(name: string): Promise<ScratchServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `onair-bench-${name}-`));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    DATABASE_URL: `sqlite:${path.join(dir, 'db.sqlite')}`,
    RECORDINGS_DIR: path.join(dir, 'rec'),
    AUTH_RATE_LIMIT: '1000',
  });
  const server = await startServer(config, { media: {}, frontDir: null });
  return {
    server,
    dir,
    pipelines: async () => (await server.services.media!.server.pipelineIds()).length,
    close: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

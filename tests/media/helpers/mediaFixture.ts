/**
 * A fresh media layer per test: a test engine (startTestEngine of tests/engine/helpers) and a MediaServer connected to it, closed and
 * stopped after each test. `pipelines()` asks the engine itself, on a connection of its own.
 */
import { afterEach, beforeEach } from 'node:test';
import { listPipelines } from '../../../media/kurento.js';
import { MediaServer, type MediaLog } from '../../../media/MediaServer.js';
import { closeClients, connectClient, startTestEngine } from '../../engine/helpers/engineHarness.js';
import { setUpValue } from '../../support/fixture.js';

/** Warnings and errors the media layer logged during the test. */
export interface LoggedLine {
  level: 'info' | 'warn' | 'error';
  obj: object;
  msg: string | undefined;
}

export interface MediaFixture {
  readonly server: MediaServer;
  readonly logged: LoggedLine[];
  /** Ids of the pipelines the engine holds (every client). */
  pipelines(): Promise<string[]>;
}

export function useMediaServer(): MediaFixture {
  let engine: Awaited<ReturnType<typeof startTestEngine>> | undefined;
  let server: MediaServer | undefined;
  const logged: LoggedLine[] = [];
  const log: MediaLog = {
    info: (obj, msg) => logged.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => logged.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => logged.push({ level: 'error', obj, msg }),
  };
  beforeEach(async () => {
    logged.length = 0;
    engine = await startTestEngine({ workers: 0 });
    server = await MediaServer.connect({ uri: engine.uri, log });
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await closeClients();
    await engine?.stop();
    engine = undefined;
  });
  const connected = setUpValue('the media server is not connected (use the fixture inside a test)');
  const running = setUpValue('the engine is not running (use the fixture inside a test)');
  return {
    get server() {
      return connected(server);
    },
    logged,
    async pipelines() {
      return listPipelines(await connectClient(running(engine).uri));
    },
  };
}

/**
 * A media worker process: one MediaRuntime driven by the server over IPC. Started by WorkerHost;
 * exits when the server asks it to or when its IPC channel closes (the server died).
 */
import type { EngineConfig } from '../config.js';
import { MediaRuntime } from '../elements/MediaRuntime.js';
import { KurentoError } from '../protocol/KurentoError.js';
import { IdleMemory } from './IdleMemory.js';
import { heapSpaces, type HostStats } from './MediaHost.js';
import type { WorkerMessage, WorkerRequest } from './WorkerProtocol.js';

const config = JSON.parse(process.env.ENGINE_WORKER_CONFIG ?? '{}') as EngineConfig;
const name = process.env.ENGINE_WORKER_NAME ?? 'worker';
const runtime = new MediaRuntime(config);
const startCpu = process.cpuUsage();
const idleMemory = new IdleMemory(
  () => runtime.stats().pipelines,
  (collecting) => send({ t: 'collecting', collecting }),
);

function send(message: WorkerMessage): void {
  if (process.connected) process.send?.(message);
}

runtime.on('event', (objectId, type, data) => send({ t: 'event', objectId, type, data }));
runtime.on('released', (objectIds) => {
  send({ t: 'released', objectIds, load: runtime.load });
  idleMemory.check();
});

async function run(request: WorkerRequest): Promise<unknown> {
  switch (request.op) {
    case 'create':
      runtime.create(request.objectId, request.type, request.params);
      idleMemory.check();
      return undefined;
    case 'invoke':
      return runtime.invoke(request.objectId, request.operation, request.params);
    case 'release':
      runtime.release(request.objectId);
      idleMemory.check();
      return undefined;
    case 'relay':
      return runtime.relays.run(request.relayOp, request.params);
    case 'stats': {
      const cpu = process.cpuUsage(startCpu);
      return {
        name,
        pid: process.pid,
        ...runtime.stats(),
        ...memory(),
        cpuMicros: cpu.user + cpu.system,
        idleMemoryReleases: idleMemory.releases,
      };
    }
    case 'close':
      idleMemory.cancel();
      runtime.close();
      setImmediate(() => process.exit(0));
      return undefined;
  }
}

function memory(): Pick<
  HostStats,
  'rssBytes' | 'heapBytes' | 'externalBytes' | 'heapTotalBytes' | 'arrayBuffersBytes' | 'heapSpaces'
> {
  const usage = process.memoryUsage();
  return {
    rssBytes: usage.rss,
    heapBytes: usage.heapUsed,
    externalBytes: usage.external,
    heapTotalBytes: usage.heapTotal,
    arrayBuffersBytes: usage.arrayBuffers,
    heapSpaces: heapSpaces(),
  };
}

process.on('message', (request: WorkerRequest) => {
  run(request).then(
    (value) => send({ t: 'res', id: request.id, load: runtime.load, ok: true, value }),
    (err: unknown) =>
      send({ t: 'res', id: request.id, load: runtime.load, ok: false, error: KurentoError.from(err).toJSON() }),
  );
});

process.on('disconnect', () => {
  runtime.close();
  process.exit(0);
});

process.on('SIGTERM', () => undefined);
process.on('SIGINT', () => undefined);

// A failure inside one peer's WebRTC stack (werift's async internals) must not take every pipeline of
// this worker down with it: it is logged, and that peer's set-up timeout or close handles the rest.
process.on('unhandledRejection', (reason) => console.error(`[${name}] unhandled rejection:`, reason));
process.on('uncaughtException', (err) => console.error(`[${name}] uncaught exception:`, err));

await MediaRuntime.prepare();
send({ t: 'ready' });

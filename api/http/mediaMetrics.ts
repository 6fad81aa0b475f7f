/**
 * Per media server metrics of the pool (label `server`: host, port and path of its URI), read at scrape time:
 * whether it is up, its capacity, what it holds (sampled, every client's), what this process holds on it, and the
 * placement decisions this process made.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { MediaPool } from '../../media/MediaPool.js';

export function registerMediaMetrics(registry: Registry, pool: MediaPool): void {
  const gauge = (name: string, help: string, read: (s: ReturnType<MediaPool['status']>[number]) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ['server'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const server of pool.status()) {
          const value = read(server);
          if (value !== null) this.set({ server: server.id }, value);
        }
      },
    });
  gauge('onair_media_server_up', 'Whether the media server is connected (1) or lost (0)', (s) => (s.available ? 1 : 0));
  gauge(
    'onair_media_server_capacity_endpoints',
    'Endpoints the media server takes (MEDIA_SERVER_CAPACITY)',
    (s) => s.capacity,
  );
  gauge('onair_media_server_lives', 'Lives this API process holds on the media server', (s) => s.lives);
  gauge('onair_media_server_viewers', 'Viewers this API process holds on the media server', (s) => s.viewers);
  gauge(
    'onair_media_server_endpoints',
    'Endpoints on the media server counted for placement (every client, sampled, plus placements since)',
    (s) => s.endpoints,
  );
  gauge(
    'onair_media_server_pipelines',
    'Pipelines on the media server (every client, sampled)',
    (s) => s.load?.pipelines ?? null,
  );
  gauge(
    'onair_media_server_relays',
    'Relays of cascaded lives this API process holds on the media server',
    (s) => s.relays,
  );
  gauge(
    'onair_media_server_used_cpu_percent',
    "The media server's own CPU figure (getUsedCpu)",
    (s) => s.load?.usedCpuPercent ?? null,
  );
  gauge(
    'onair_media_server_used_memory_kib',
    "The media server's own memory figure (getUsedMemory)",
    (s) => s.load?.usedMemoryKiB ?? null,
  );
  new Counter({
    name: 'onair_media_placements_total',
    help: 'Placement decisions of this API process: a live or a viewer placed on a server, or refused (server "none")',
    labelNames: ['server', 'kind', 'outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const server of pool.status()) {
        this.inc({ server: server.id, kind: 'live', outcome: 'placed' }, server.placements.live);
        this.inc({ server: server.id, kind: 'viewer', outcome: 'placed' }, server.placements.viewer);
      }
      const refused = pool.refusals;
      this.inc({ server: 'none', kind: 'live', outcome: 'refused' }, refused.live);
      this.inc({ server: 'none', kind: 'viewer', outcome: 'refused' }, refused.viewer);
    },
  });
}

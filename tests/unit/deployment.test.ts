/**
 * The production files (docker-compose.yml, Dockerfile, deploy/) read as an operator's Docker would run them.
 * No Docker engine runs here, so these are the invariants a broken stack would break: one recordings path and one
 * owner for it, the port ranges KMS and coturn use reachable from outside, health checks that exist in their images,
 * a stop grace longer than the app's own shutdown, and versions that match.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { SHUTDOWN_TIMEOUT_MS } from '../../api/config.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  user?: string;
  network_mode?: string;
  environment?: Record<string, string | number>;
  ports?: string[];
  volumes?: Array<string | { type: string; source: string; target: string }>;
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
  entrypoint?: string[];
  command?: string[];
  depends_on?: Record<string, { condition: string }>;
  profiles?: string[];
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const { app, kms, kms2, coturn } = compose.services as Record<'app' | 'kms' | 'kms2' | 'coturn', Service>;
const dockerfile = read('Dockerfile');
const turnConf = Object.fromEntries(
  read('deploy/coturn/turnserver.conf')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && l.includes('='))
    .map((l) => l.split('=', 2) as [string, string]),
);

/** What each image is known to ship for its health check (read off the images' own definitions). */
const HEALTH_COMMANDS: Record<string, string | RegExp> = {
  // KMS 7 images: their own HEALTHCHECK runs it; on another control port (kms2), bash's /dev/tcp (bash is in them).
  'kurento/kurento-media-server': /\/healthchecker\.sh|^bash -c exec 3<>\/dev\/tcp\/127\.0\.0\.1\/\d+$/,
  'coturn/coturn': 'turnutils_stunclient', // built with coturn, in the image's /usr/bin
  mysql: 'mysqladmin',
  redis: 'redis-cli',
};

function envOf(service: Service): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v)]));
}
/** `${VAR:-default}` as compose resolves it with nothing set. */
function resolveDefault(value: string): string {
  return value.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');
}
function recordingsMount(service: Service): string | undefined {
  for (const v of service.volumes ?? []) {
    if (typeof v === 'string' && v.split(':')[0] === 'recordings') return v.split(':')[1];
    if (typeof v === 'object' && v.source === 'recordings') return v.target;
  }
  return undefined;
}
function seconds(duration: string): number {
  const m = /^(\d+)(ms|s|m)$/.exec(duration);
  assert.ok(m, `a duration compose understands: ${duration}`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60 }[m[2] as 'ms' | 's' | 'm'];
}
function uidOfAppImage(): string {
  const user = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].at(-1)?.[1];
  assert.ok(user, 'the runtime stage sets a USER');
  return user === 'node' ? '1000' : user.split(':')[0]!;
}

describe('docker-compose.yml', () => {
  test('KMS and the app see the recordings at one path, the one RECORDINGS_DIR names', () => {
    const inApp = recordingsMount(app);
    assert.ok(inApp, 'the app mounts the recordings volume');
    assert.equal(recordingsMount(kms), inApp, 'KMS mounts it at the same path (its file:// URIs are the app’s files)');
    assert.equal(envOf(app).RECORDINGS_DIR, inApp);
  });

  test('one uid writes the recordings: KMS runs as the app’s uid, and the volume is given to it first', () => {
    const uid = uidOfAppImage();
    assert.equal(app.user?.split(':')[0] ?? uid, uid, 'the app runs as its image’s user');
    const kmsEnv = envOf(kms);
    assert.equal(kmsEnv.KMS_UID, uid, 'KMS_UID is the app’s uid (else KMS writes as root)');
    assert.equal(kmsEnv.KMS_GID, app.user?.split(':')[1] ?? uid);
    const init = Object.entries(compose.services).find(([, s]) => s.entrypoint?.[0] === 'chown');
    assert.ok(init, 'a one-shot service gives the new volume to that uid');
    assert.equal(init[1].entrypoint?.[1], `${uid}:${kmsEnv.KMS_GID}`);
    assert.equal(recordingsMount(init[1]), recordingsMount(app));
    assert.equal(kms.depends_on?.[init[0]]?.condition, 'service_completed_successfully');
  });

  test('KMS’s ICE ports are reachable: host networking (Kurento’s recommendation) or the whole range published', () => {
    const env = envOf(kms);
    const min = Number(resolveDefault(env.KMS_MIN_PORT ?? ''));
    const max = Number(resolveDefault(env.KMS_MAX_PORT ?? ''));
    assert.ok(min > 1024 && max > min, `a port range is set (${min}-${max})`);
    if (kms.network_mode !== 'host') {
      assert.ok(
        (kms.ports ?? []).some((p) => p.startsWith(`${min}-${max}:${min}-${max}`)),
        'the range is published as it is',
      );
    }
    assert.ok(max - min + 1 >= 1000, 'room for at least a thousand endpoints');
  });

  test('coturn’s listening and relay ports are reachable, and TURN_URLS point at its listening port', () => {
    const listening = turnConf['listening-port'];
    const [min, max] = [Number(turnConf['min-port']), Number(turnConf['max-port'])];
    assert.ok(max - min + 1 >= 1000, `a relay range of at least a thousand ports (${min}-${max})`);
    if (coturn.network_mode !== 'host') {
      const ports = coturn.ports ?? [];
      assert.ok(ports.some((p) => p.startsWith(`${min}-${max}:${min}-${max}/udp`)));
      assert.ok(ports.some((p) => p === `${listening}:${listening}/udp`));
    }
    for (const url of envOf(app).TURN_URLS!.split(',')) assert.match(url, new RegExp(`:${listening}\\?`));
  });

  test('every health check runs a command its image ships', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (!service.healthcheck) continue;
      const image = resolveDefault(service.image ?? '').split(':')[0]!;
      const expected = HEALTH_COMMANDS[image];
      assert.ok(expected, `${name}: a known image (${image})`);
      const command = service.healthcheck.test.slice(1).join(' ');
      assert.ok(typeof expected === 'string' ? command.includes(expected) : expected.test(command), name);
      assert.ok(!/\bnc\b/.test(command), `${name}: no nc (not in the image, and blind to UDP)`);
    }
    assert.match(dockerfile, /HEALTHCHECK[\s\S]*wget/);
    assert.match(dockerfile, /apt-get install[^\n]*\bwget\b/, 'the app image installs what its HEALTHCHECK runs');
  });

  test('the app’s stop grace is longer than its own shutdown', () => {
    assert.ok(app.stop_grace_period, 'set (Docker’s default is 10 s)');
    assert.ok(seconds(app.stop_grace_period) * 1000 > SHUTDOWN_TIMEOUT_MS);
  });

  test('KMS is at least the kurento-client version, and the app image runs a supported Node', () => {
    const client = (JSON.parse(read('node_modules/kurento-client/package.json')) as { version: string }).version;
    const kmsVersion = resolveDefault(kms.image ?? '').split(':')[1] ?? '';
    const [cMajor, cMinor] = client.split('.').map(Number) as [number, number];
    const [kMajor, kMinor] = kmsVersion.split('.').map(Number) as [number, number];
    assert.ok(kMajor === cMajor && kMinor >= cMinor, `KMS ${kmsVersion} for kurento-client ${client}`);
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    for (const [, major] of dockerfile.matchAll(/^FROM node:(\d+)/gm)) {
      assert.ok(engines.includes(`^${major}.`), `node:${major} is in engines (${engines})`);
    }
  });

  test('the app reaches KMS through the host gateway when KMS is on the host network', () => {
    if (kms.network_mode !== 'host') return;
    const uri = new URL(resolveDefault(envOf(app).KMS_URIS!).split(',')[0]!);
    assert.equal(uri.hostname, 'host.docker.internal');
    assert.ok((app as { extra_hosts?: string[] }).extra_hosts?.includes('host.docker.internal:host-gateway'));
  });

  describe('kms2, the second media server of a pool (profile kms2)', () => {
    const kmsPort = (service: Service): number => {
      const mount = (service.volumes ?? []).find(
        (v): v is string => typeof v === 'string' && v.endsWith(':/etc/kurento/kurento.conf.json:ro'),
      );
      if (!mount) return 8888; // the image's own configuration
      const conf = JSON.parse(read(mount.split(':')[0]!)) as { mediaServer: { net: { websocket: { port: number } } } };
      return conf.mediaServer.net.websocket.port;
    };
    const range = (service: Service): [number, number] => {
      const env = envOf(service);
      return [Number(resolveDefault(env.KMS_MIN_PORT ?? '')), Number(resolveDefault(env.KMS_MAX_PORT ?? ''))];
    };

    test('starts only under its profile, from the same image, writing the recordings as kms does', () => {
      assert.ok(kms2, 'a kms2 service');
      assert.deepEqual(kms2.profiles, ['kms2']);
      assert.equal(kms.profiles, undefined, 'kms starts without a profile');
      assert.equal(kms2.image, kms.image);
      assert.equal(recordingsMount(kms2), recordingsMount(app));
      assert.equal(envOf(kms2).KMS_UID, envOf(kms).KMS_UID);
      assert.equal(envOf(kms2).KMS_GID, envOf(kms).KMS_GID);
      assert.deepEqual(kms2.depends_on, kms.depends_on);
      assert.equal(envOf(kms2).KMS_EXTERNAL_IPV4, envOf(kms).KMS_EXTERNAL_IPV4);
    });

    test('its control port and ICE range clash with nothing on the host; its health check asks its own port', () => {
      assert.equal(kms2.network_mode, kms.network_mode);
      const port = kmsPort(kms2);
      assert.notEqual(port, kmsPort(kms), 'another control port than kms');
      assert.match(kms2.healthcheck?.test.join(' ') ?? '', new RegExp(`/${port}$`));
      const [min, max] = range(kms2);
      assert.ok(min > 1024 && max - min + 1 >= 1000, `a range of at least a thousand ports (${min}-${max})`);
      const [kmsMin, kmsMax] = range(kms);
      const [turnMin, turnMax] = [Number(turnConf['min-port']), Number(turnConf['max-port'])];
      for (const [name, [a, b]] of [
        ['kms', [kmsMin, kmsMax]],
        ['coturn relays', [turnMin, turnMax]],
      ] as const)
        assert.ok(max < a || min > b, `kms2's ICE range ${min}-${max} is clear of ${name}'s ${a}-${b}`);
      assert.ok(port < min || port > max, 'its control port is outside its ICE range');
    });

    test('the app lists kms by default, and the compose file says how to list kms2 (KMS_URIS)', () => {
      const uris = resolveDefault(envOf(app).KMS_URIS ?? '').split(',');
      assert.deepEqual(uris, [`ws://host.docker.internal:${kmsPort(kms)}/kurento`]);
      assert.ok(
        read('docker-compose.yml').includes(
          `KMS_URIS=ws://host.docker.internal:${kmsPort(kms)}/kurento,ws://host.docker.internal:${kmsPort(kms2)}/kurento`,
        ),
      );
    });
  });
});

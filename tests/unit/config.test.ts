import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig, parseDuration } from '../../api/config.js';

describe('loadConfig()', () => {
  test('with an empty environment gives the documented defaults', () => {
    const config = loadConfig({}, '/srv/onair');
    assert.equal(config.port, 8080);
    assert.equal(config.host, null);
    assert.equal(config.publicUrl, 'http://localhost:8080');
    assert.equal(config.publicUrlFromPort, true);
    assert.equal(config.databaseUrl, 'sqlite:data/onair.sqlite');
    assert.equal(config.redisUrl, null);
    assert.equal(config.storePrefix, 'onair:');
    assert.equal(config.kmsUri, null);
    assert.equal(config.recordingsDir, path.resolve('/srv/onair', 'recordings'));
    assert.equal(config.turn, null);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.tokenTtlMs, 6 * 3600_000);
    assert.equal(config.signingSecretGenerated, true);
    assert.ok(config.signingSecret.length >= 32);
    assert.equal(config.callRingTimeoutMs, 30_000);
    assert.equal(config.recordCalls, false);
    assert.equal(config.engineWorkers, null);
    assert.equal(config.authRateLimit, 30);
    assert.equal(config.trustProxy, false);
    assert.equal(config.socketsPerAccount, 20);
    assert.equal(config.socketsPerAddress, 200);
    assert.equal(config.accountEventsPerSecond, 100);
    assert.equal(config.metricsToken, null);
    assert.equal(config.loginFailureLimit, 5);
    assert.equal(config.loginAccountFailureLimit, 50);
    assert.equal(config.loginFailureWindowMs, 15 * 60_000);
  });

  test('reads the security limits and refuses bad ones naming the variable', () => {
    const config = loadConfig({
      SOCKETS_PER_ACCOUNT: '3',
      SOCKETS_PER_ADDRESS: '7',
      ACCOUNT_EVENTS_PER_SECOND: '9',
      METRICS_TOKEN: 'a-long-enough-token',
      LOGIN_FAILURE_LIMIT: '2',
      LOGIN_ACCOUNT_FAILURE_LIMIT: '4',
      LOGIN_FAILURE_WINDOW: '2m',
    });
    assert.equal(config.socketsPerAccount, 3);
    assert.equal(config.socketsPerAddress, 7);
    assert.equal(config.accountEventsPerSecond, 9);
    assert.equal(config.metricsToken, 'a-long-enough-token');
    assert.equal(config.loginFailureLimit, 2);
    assert.equal(config.loginAccountFailureLimit, 4);
    assert.equal(config.loginFailureWindowMs, 120_000);
    for (const [variable, value] of [
      ['SOCKETS_PER_ACCOUNT', '0'],
      ['METRICS_TOKEN', 'short'],
      ['METRICS_TOKEN', 'has a space in it ok'],
      ['LOGIN_FAILURE_WINDOW', 'soon'],
    ] as const) {
      assert.throws(
        () => loadConfig({ [variable]: value }),
        (e: unknown) => e instanceof ConfigError && e.variables.includes(variable),
        `${variable}=${value}`,
      );
    }
  });

  test('generates a different signing secret per start when none is given', () => {
    assert.notEqual(loadConfig({}).signingSecret, loadConfig({}).signingSecret);
  });

  test('reads every variable when given', () => {
    const config = loadConfig(
      {
        PORT: '9000',
        HOST: '127.0.0.1',
        PUBLIC_URL: 'https://onair.example.org/',
        DATABASE_URL: 'mysql://onair:secret@db:3306/onair',
        REDIS_URL: 'redis://redis:6379/0',
        STORE_PREFIX: 'prod:',
        KMS_URI: 'ws://kms:8888/kurento',
        RECORDINGS_DIR: '/var/lib/onair/recordings',
        TURN_URLS: 'turn:turn.example.org:3478?transport=udp, turns:turn.example.org:5349',
        TURN_SECRET: 'a-long-turn-secret-1',
        LOG_LEVEL: 'warn',
        TOKEN_TTL: '30m',
        SIGNING_SECRET: '0123456789abcdef0123',
        CALL_RING_TIMEOUT_MS: '500',
        RECORD_CALLS: 'yes',
        ENGINE_WORKERS: '2',
        AUTH_RATE_LIMIT: '5',
        TRUST_PROXY: '1',
      },
      '/srv/onair',
    );
    assert.equal(config.port, 9000);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.publicUrl, 'https://onair.example.org');
    assert.equal(config.publicUrlFromPort, false);
    assert.equal(config.databaseUrl, 'mysql://onair:secret@db:3306/onair');
    assert.equal(config.redisUrl, 'redis://redis:6379/0');
    assert.equal(config.storePrefix, 'prod:');
    assert.equal(config.kmsUri, 'ws://kms:8888/kurento');
    assert.equal(config.recordingsDir, '/var/lib/onair/recordings');
    assert.deepEqual(config.turn, {
      urls: ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:5349'],
      secret: 'a-long-turn-secret-1',
    });
    assert.equal(config.logLevel, 'warn');
    assert.equal(config.tokenTtlMs, 30 * 60_000);
    assert.equal(config.signingSecret, '0123456789abcdef0123');
    assert.equal(config.signingSecretGenerated, false);
    assert.equal(config.callRingTimeoutMs, 500);
    assert.equal(config.recordCalls, true);
    assert.equal(config.engineWorkers, 2);
    assert.equal(config.authRateLimit, 5);
    assert.equal(config.trustProxy, 1);
  });

  test('treats empty variables as unset and accepts sqlite and mariadb URLs', () => {
    const config = loadConfig({ PORT: '', REDIS_URL: ' ', DATABASE_URL: 'sqlite::memory:', KMS_URI: '' });
    assert.equal(config.port, 8080);
    assert.equal(config.redisUrl, null);
    assert.equal(config.kmsUri, null);
    assert.equal(config.databaseUrl, 'sqlite::memory:');
    assert.equal(
      loadConfig({ DATABASE_URL: 'mariadb://root@127.0.0.1/onair' }).databaseUrl,
      'mariadb://root@127.0.0.1/onair',
    );
  });

  // Each bad value is rejected with a ConfigError whose message names the variable.
  const invalid: Array<[string, Record<string, string>]> = [
    ['PORT', { PORT: 'eighty' }],
    ['PORT', { PORT: '70000' }],
    ['PORT', { PORT: '-1' }],
    ['HOST', { HOST: 'bad host!' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'ftp://example.org' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'not a url' }],
    ['DATABASE_URL', { DATABASE_URL: 'postgres://db/onair' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://db' }],
    ['DATABASE_URL', { DATABASE_URL: 'sqlite:' }],
    ['REDIS_URL', { REDIS_URL: 'http://redis:6379' }],
    ['STORE_PREFIX', { STORE_PREFIX: 'has space' }],
    ['KMS_URI', { KMS_URI: 'http://kms:8888/kurento' }],
    ['TURN_URLS', { TURN_URLS: 'http://turn.example.org', TURN_SECRET: 'long-enough-secret' }],
    ['TURN_SECRET', { TURN_URLS: 'turn:turn.example.org:3478' }],
    ['TURN_URLS', { TURN_SECRET: 'long-enough-secret' }],
    ['TURN_SECRET', { TURN_URLS: 'turn:turn.example.org:3478', TURN_SECRET: 'short' }],
    // coturn's image entrypoint evaluates its arguments: `ab$cd;ef` would become `ab` and run `ef`.
    ['TURN_SECRET', { TURN_URLS: 'turn:turn.example.org:3478', TURN_SECRET: 'abcdefgh$cd;efghijkl' }],
    ['TURN_SECRET', { TURN_URLS: 'turn:turn.example.org:3478', TURN_SECRET: 'a "quoted" long secret' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['TOKEN_TTL', { TOKEN_TTL: 'forever' }],
    ['TOKEN_TTL', { TOKEN_TTL: '0' }],
    ['TOKEN_TTL', { TOKEN_TTL: '400d' }],
    ['SIGNING_SECRET', { SIGNING_SECRET: 'short' }],
    ['CALL_RING_TIMEOUT_MS', { CALL_RING_TIMEOUT_MS: '10' }],
    ['CALL_RING_TIMEOUT_MS', { CALL_RING_TIMEOUT_MS: '1.5' }],
    ['RECORD_CALLS', { RECORD_CALLS: 'maybe' }],
    ['ENGINE_WORKERS', { ENGINE_WORKERS: '0' }],
    ['AUTH_RATE_LIMIT', { AUTH_RATE_LIMIT: 'lots' }],
    ['TRUST_PROXY', { TRUST_PROXY: 'sometimes' }],
  ];
  for (const [variable, env] of invalid) {
    test(`rejects ${variable}=${JSON.stringify(env[variable] ?? '(unset)')} naming ${variable}`, () => {
      assert.throws(
        () => loadConfig(env),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.deepEqual(err.variables, [variable]);
          assert.match(err.message, new RegExp(`\\b${variable}\\b`));
          return true;
        },
      );
    });
  }

  test('names every bad variable at once', () => {
    assert.throws(
      () => loadConfig({ PORT: 'x', LOG_LEVEL: 'y' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual([...err.variables].sort(), ['LOG_LEVEL', 'PORT']);
        return true;
      },
    );
  });

  test('never repeats a secret value in its message', () => {
    assert.throws(
      () => loadConfig({ SIGNING_SECRET: 'tiny' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.doesNotMatch(err.message, /tiny/);
        return true;
      },
    );
  });
});

describe('parseDuration()', () => {
  test('reads bare seconds and unit suffixes', () => {
    assert.equal(parseDuration('90'), 90_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('15m'), 900_000);
    assert.equal(parseDuration('6h'), 21_600_000);
    assert.equal(parseDuration('7d'), 604_800_000);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('6 hours'), null);
    assert.equal(parseDuration('-1s'), null);
  });
});

describe('loadConfig(): media settings', () => {
  test('video bandwidth bounds and the reconciliation interval have defaults and are read', () => {
    const defaults = loadConfig({});
    assert.deepEqual(defaults.videoBandwidth, { minKbps: 300, maxKbps: 2500 });
    assert.equal(defaults.mediaReconcileMs, 30_000);
    const set = loadConfig({ VIDEO_MIN_KBPS: '0', VIDEO_MAX_KBPS: '4000', MEDIA_RECONCILE_MS: '5000' });
    assert.deepEqual(set.videoBandwidth, { minKbps: 0, maxKbps: 4000 });
    assert.equal(set.mediaReconcileMs, 5000);
  });

  test('refuses bounds that are not whole kbps, out of range, or a minimum above the maximum', () => {
    for (const env of [
      { VIDEO_MIN_KBPS: '-1' },
      { VIDEO_MAX_KBPS: '2.5' },
      { VIDEO_MAX_KBPS: '10' },
      { VIDEO_MAX_KBPS: '200000' },
      { MEDIA_RECONCILE_MS: '10' },
    ]) {
      assert.throws(
        () => loadConfig(env),
        (e: unknown) => e instanceof ConfigError && e.variables.includes(Object.keys(env)[0]!),
        JSON.stringify(env),
      );
    }
    assert.throws(
      () => loadConfig({ VIDEO_MIN_KBPS: '3000', VIDEO_MAX_KBPS: '2000' }),
      (e: unknown) =>
        e instanceof ConfigError && e.variables.includes('VIDEO_MIN_KBPS') && /VIDEO_MAX_KBPS/.test(e.message),
    );
  });
});

describe('loadConfig(): resuming after a dropped connection', () => {
  test('RESUME_GRACE_MS is 10 s by default, 0 ends at once, and must be whole milliseconds up to 10 minutes', () => {
    assert.equal(loadConfig({}).resumeGraceMs, 10_000);
    assert.equal(loadConfig({ RESUME_GRACE_MS: '0' }).resumeGraceMs, 0);
    assert.equal(loadConfig({ RESUME_GRACE_MS: '2500' }).resumeGraceMs, 2500);
    for (const value of ['-1', '1.5', '10s', '600001']) {
      assert.throws(
        () => loadConfig({ RESUME_GRACE_MS: value }),
        (e: unknown) => e instanceof ConfigError && e.variables.includes('RESUME_GRACE_MS'),
        value,
      );
    }
  });
  test('reads a pool of media servers, embedded engines and their capacity, and refuses what does not go together', () => {
    const defaults = loadConfig({});
    assert.deepEqual(defaults.kmsUris, []);
    assert.equal(defaults.engineInstances, 1);
    assert.equal(defaults.mediaServerCapacity, null);
    const pool = loadConfig({
      KMS_URIS: 'ws://kms:8888/kurento, ws://kms2:8888/kurento',
      MEDIA_SERVER_CAPACITY: '400,200',
    });
    assert.deepEqual(pool.kmsUris, ['ws://kms:8888/kurento', 'ws://kms2:8888/kurento']);
    assert.equal(pool.kmsUri, 'ws://kms:8888/kurento');
    assert.deepEqual(pool.mediaServerCapacity, [400, 200]);
    assert.deepEqual(loadConfig({ KMS_URI: 'ws://kms:8888/kurento' }).kmsUris, ['ws://kms:8888/kurento']);
    assert.equal(loadConfig({ ENGINE_INSTANCES: '2', MEDIA_SERVER_CAPACITY: '50' }).engineInstances, 2);
    const refused: Array<[Record<string, string>, string]> = [
      [{ KMS_URIS: 'http://kms:8888/kurento' }, 'KMS_URIS'],
      [{ KMS_URIS: 'ws://a:1/k,ws://a:1/k' }, 'KMS_URIS'],
      [{ KMS_URIS: ',' }, 'KMS_URIS'],
      [{ KMS_URI: 'ws://a:1/k', KMS_URIS: 'ws://b:1/k' }, 'KMS_URIS'],
      [{ KMS_URIS: 'ws://b:1/k', ENGINE_INSTANCES: '2' }, 'ENGINE_INSTANCES'],
      [{ ENGINE_INSTANCES: '0' }, 'ENGINE_INSTANCES'],
      [{ MEDIA_SERVER_CAPACITY: '0' }, 'MEDIA_SERVER_CAPACITY'],
      [{ MEDIA_SERVER_CAPACITY: '10,x' }, 'MEDIA_SERVER_CAPACITY'],
    ];
    for (const [env, variable] of refused) {
      assert.throws(
        () => loadConfig(env),
        (e: unknown) => e instanceof ConfigError && e.variables.includes(variable),
        JSON.stringify(env),
      );
    }
  });
});

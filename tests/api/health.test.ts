import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { HealthReport } from '../../api/contract/rest.js';
import { registerUser } from '../../drivers/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { skipUnless } from '../support/services.js';

describe('GET /healthz', () => {
  test('answers 200 "ok" when the database and the store answer and no media server is wired', async () => {
    const srv = await startTestServer({ db: 'sqlite' });
    try {
      const res = await srv.http.get<HealthReport>('/healthz');
      assert.equal(res.status, 200);
      assert.equal(res.body.status, 'ok');
      assert.equal(res.body.checks.database.ok, true);
      assert.equal(res.body.checks.store.ok, true);
      assert.deepEqual(res.body.checks.media, { ok: true, ms: 0, detail: 'not configured' });
      assert.equal(res.headers.get('cache-control'), 'no-store');
    } finally {
      await srv.close();
    }
  });

  test(
    'checks MariaDB, Redis and the media probe when they are configured',
    { skip: skipUnless('mariadb', 'redis') },
    async () => {
      let probes = 0;
      const srv = await startTestServer({
        db: 'mariadb',
        store: 'redis',
        server: { mediaProbe: async () => (probes++, true) },
      });
      try {
        const res = await srv.http.get<HealthReport>('/healthz');
        assert.equal(res.status, 200);
        assert.equal(res.body.status, 'ok');
        assert.equal(res.body.checks.media.ok, true);
        assert.equal(res.body.checks.media.detail, undefined);
        assert.equal(probes, 1);
      } finally {
        await srv.close();
      }
    },
  );

  describe('degraded', () => {
    let mediaAnswer: () => Promise<boolean>;
    let srv: TestServer;
    before(async () => {
      srv = await startTestServer({ db: 'sqlite', server: { mediaProbe: () => mediaAnswer() } });
    });
    after(async () => {
      await srv?.close();
    });

    test('answers 503 naming the media server when its probe says no', async () => {
      mediaAnswer = async () => false;
      const res = await srv.http.get<HealthReport>('/healthz');
      assert.equal(res.status, 503);
      assert.equal(res.body.status, 'degraded');
      assert.deepEqual({ ...res.body.checks.media, ms: 0 }, { ok: false, ms: 0, detail: 'unreachable' });
      assert.equal(res.body.checks.database.ok, true);
      assert.equal(res.body.checks.store.ok, true);
    });

    test('answers 503 with the reason when the probe throws', async () => {
      mediaAnswer = async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:8888');
      };
      const res = await srv.http.get<HealthReport>('/healthz');
      assert.equal(res.status, 503);
      assert.equal(res.body.checks.media.detail, 'connect ECONNREFUSED 127.0.0.1:8888');
    });

    test('answers 503 instead of hanging when the probe never answers', async () => {
      mediaAnswer = () => new Promise<boolean>(() => undefined);
      const res = await srv.http.get<HealthReport>('/healthz');
      assert.equal(res.status, 503);
      assert.match(res.body.checks.media.detail ?? '', /no answer within \d+ ms/);
    });

    test('answers 503 naming the store and the database once they are gone', async () => {
      mediaAnswer = async () => true;
      await srv.server.store.close();
      const storeGone = await srv.http.get<HealthReport>('/healthz');
      assert.equal(storeGone.status, 503);
      assert.equal(storeGone.body.checks.store.ok, false);
      assert.equal(storeGone.body.checks.database.ok, true);
      await srv.server.db.close();
      const bothGone = await srv.http.get<HealthReport>('/healthz');
      assert.equal(bothGone.status, 503);
      assert.equal(bothGone.body.checks.database.ok, false);
      assert.equal(bothGone.body.checks.media.ok, true);
    });
  });

  test('reports a Redis that went away as a failed store check', { skip: skipUnless('redis') }, async () => {
    const srv = await startTestServer({ db: 'sqlite', store: 'redis' });
    try {
      const store = srv.server.store as import('../../api/store/RedisStore.js').RedisStore;
      store.client.disconnect();
      const res = await srv.http.get<HealthReport>('/healthz');
      assert.equal(res.status, 503);
      assert.equal(res.body.checks.store.ok, false);
    } finally {
      await srv.close();
    }
  });
});

const METRICS_TOKEN = 'scraper-secret-0123456789';
const scrape = { headers: { authorization: `Bearer ${METRICS_TOKEN}` } };

describe('GET /metrics', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ db: 'sqlite', env: { METRICS_TOKEN } });
  });
  after(async () => {
    await srv?.close();
  });

  test('is not public: no token answers 401 auth.required, a wrong one 401 auth.invalidToken', async () => {
    const srv = await startTestServer({ db: 'sqlite', env: { METRICS_TOKEN } });
    try {
      const none = await srv.http.get('/metrics');
      assert.equal(none.status, 401);
      assert.equal(none.body.error.code, 'auth.required');
      assert.doesNotMatch(none.text, /nodejs_/);
      const user = await registerUser(srv.url);
      for (const token of [user.token, `${METRICS_TOKEN}x`, 'x']) {
        const wrong = await srv.http.get('/metrics', { token });
        assert.equal(wrong.status, 401);
        assert.equal(wrong.body.error.code, 'auth.invalidToken');
      }
    } finally {
      await srv.close();
    }
  });

  test('is not served at all without METRICS_TOKEN', async () => {
    const bare = await startTestServer({ db: 'sqlite' });
    try {
      const res = await bare.http.get('/metrics', scrape);
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'request.notFound');
    } finally {
      await bare.close();
    }
  });

  test('exposes Node default metrics in the Prometheus text format', async () => {
    const res = await srv.http.get('/metrics', scrape);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(res.text, /^# TYPE process_cpu_user_seconds_total counter$/m);
    assert.match(res.text, /^nodejs_heap_size_used_bytes\{app="onair"\} \d+/m);
  });

  test('counts HTTP requests by method, route pattern and status, never by raw path', async () => {
    const user = await registerUser(srv.url);
    await srv.http.get(user.user.avatarUrl);
    await srv.http.post('/api/auth/login', { nickname: user.nickname, password: 'wrong pass 1' });
    await srv.http.get('/api/definitely/not/here');
    const text = (await srv.http.get('/metrics', scrape)).text;
    const count = (route: string, method: string, status: number) =>
      Number(
        new RegExp(
          `^http_request_duration_seconds_count\\{app="onair",method="${method}",route="${route.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}",status_code="${status}"\\} (\\d+)$`,
          'm',
        ).exec(text)?.[1] ?? 0,
      );
    assert.equal(count('/api/auth/register', 'POST', 201), 1);
    assert.equal(count('/api/users/:id/avatar.svg', 'GET', 200), 1);
    assert.equal(count('/api/auth/login', 'POST', 401), 1);
    assert.equal(count('unmatched', 'GET', 404), 1);
    assert.doesNotMatch(text, /definitely|route="\/api\/users\/\d+/);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AuthResponse, PublicUser } from '../../api/contract/rest.js';
import { type DatabaseKind } from '../support/db.js';
import { http, registerUser, TEST_PASSWORD, uniqueNickname } from '../../drivers/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { skipUnless } from '../support/services.js';
import { waitFor } from '../../drivers/wait.js';

const kinds: Array<{ db: DatabaseKind; skip: string | false }> = [
  { db: 'mariadb', skip: skipUnless('mariadb') },
  { db: 'sqlite', skip: false },
];

for (const { db, skip } of kinds) {
  describe(`accounts on ${db}`, { skip }, () => {
    let srv: TestServer;

    before(async () => {
      srv = await startTestServer({ db, env: { AUTH_RATE_LIMIT: '10000' } });
    });
    after(async () => {
      await srv?.close();
    });

    test('register answers 201 with a token, its expiry and the public user', async () => {
      const nickname = uniqueNickname('Reg');
      const res = await srv.http.post<AuthResponse>('/api/auth/register', { nickname, password: TEST_PASSWORD });
      assert.equal(res.status, 201);
      assert.match(res.body.token, /^[0-9a-z]+\.[A-Za-z0-9_-]{43}$/);
      const ttl = Date.parse(res.body.expiresAt) - Date.now();
      assert.ok(ttl > 5 * 3600_000 && ttl <= 6 * 3600_000, `default TTL is 6 h, got ${ttl} ms`);
      assert.deepEqual(Object.keys(res.body.user).sort(), ['avatarUrl', 'createdAt', 'id', 'nickname']);
      assert.equal(res.body.user.nickname, nickname);
      assert.equal(res.body.user.avatarUrl, `/api/users/${res.body.user.id}/avatar.svg`);
      assert.doesNotMatch(res.text, /scrypt|passwordHash/);
    });

    test('the password is stored only as a salted scrypt hash', async () => {
      const a = await registerUser(srv.url);
      const b = await registerUser(srv.url);
      const rows = await srv.server.db.User.findAll({ where: { id: [a.user.id, b.user.id] } });
      for (const row of rows) {
        assert.match(row.passwordHash, /^scrypt\$15\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]{43}$/);
        assert.ok(!row.passwordHash.includes(TEST_PASSWORD));
      }
      assert.notEqual(rows[0]!.passwordHash, rows[1]!.passwordHash, 'same password, different salts');
    });

    test('a taken nickname, in any case, answers 409 auth.nicknameTaken', async () => {
      const { nickname } = await registerUser(srv.url, uniqueNickname('Dup'));
      for (const again of [nickname, nickname.toUpperCase(), nickname.toLowerCase()]) {
        const res = await srv.http.post('/api/auth/register', { nickname: again, password: 'another pass 9' });
        assert.equal(res.status, 409, again);
        assert.equal(res.body.error.code, 'auth.nicknameTaken');
      }
    });

    test('two registrations of one nickname racing: one wins, the other gets auth.nicknameTaken', async () => {
      const nickname = uniqueNickname('Race');
      const answers = await Promise.all(
        [0, 1, 2].map(() => srv.http.post('/api/auth/register', { nickname, password: TEST_PASSWORD })),
      );
      assert.deepEqual(answers.map((a) => a.status).sort(), [201, 409, 409]);
      for (const a of answers.filter((x) => x.status === 409)) assert.equal(a.body.error.code, 'auth.nicknameTaken');
    });

    test('weak passwords answer 400 auth.weakPassword', async () => {
      const nickname = uniqueNickname('Weak');
      for (const password of [
        'short1',
        'onlyletters',
        '1234567890',
        'aaaa1111aaaa1111aaaa',
        `${nickname}99`,
        `a1${'x'.repeat(127)}`,
      ]) {
        const res = await srv.http.post('/api/auth/register', { nickname, password });
        assert.equal(res.status, 400, password);
        assert.equal(res.body.error.code, 'auth.weakPassword', password);
      }
      const free = await srv.http.post('/api/auth/login', { nickname, password: 'whatever 1' });
      assert.equal(free.body.error.code, 'auth.invalidCredentials', 'no account was created');
    });

    test('a long passphrase needs no digit', async () => {
      const res = await srv.http.post('/api/auth/register', {
        nickname: uniqueNickname('Phrase'),
        password: 'correct horse battery',
      });
      assert.equal(res.status, 201);
    });

    test('nicknames outside the rules answer 400 request.invalid at registration', async () => {
      for (const nickname of ['ab', 'x'.repeat(33), 'has space', 'émile', '../admin', 'a/b', '']) {
        const res = await srv.http.post('/api/auth/register', { nickname, password: TEST_PASSWORD });
        assert.equal(res.status, 400, nickname);
        assert.equal(res.body.error.code, 'request.invalid', nickname);
      }
    });

    test('credentials of the wrong shape answer 400 request.invalid on register and login', async () => {
      const bodies: unknown[] = [
        { nickname: 'valid_name' },
        { password: TEST_PASSWORD },
        { nickname: 'valid_name', password: 12345678 },
        { nickname: { $gt: '' }, password: TEST_PASSWORD },
        { nickname: ['valid_name'], password: TEST_PASSWORD },
        { nickname: 'valid_name', password: TEST_PASSWORD, admin: true },
        { nickname: 'valid_name', password: 'x'.repeat(1025) },
        ['valid_name', TEST_PASSWORD],
        'valid_name',
        42,
        null,
      ];
      for (const body of bodies) {
        for (const route of ['/api/auth/register', '/api/auth/login']) {
          const res = await srv.http.post(route, undefined, { raw: JSON.stringify(body) });
          assert.equal(res.status, 400, `${route} ${JSON.stringify(body)}`);
          assert.equal(res.body.error.code, 'request.invalid', `${route} ${JSON.stringify(body)}`);
        }
      }
    });

    test('login answers 200 with a new token, whatever the case of the nickname', async () => {
      const reg = await registerUser(srv.url, uniqueNickname('Login'));
      const res = await srv.http.post<AuthResponse>('/api/auth/login', {
        nickname: reg.nickname.toUpperCase(),
        password: reg.password,
      });
      assert.equal(res.status, 200);
      assert.notEqual(res.body.token, reg.token);
      assert.deepEqual(res.body.user, reg.user);
      const me = await http(srv.url, res.body.token).get<PublicUser>('/api/me');
      assert.equal(me.status, 200);
      assert.deepEqual(me.body, reg.user);
    });

    test('a wrong password and an unknown nickname both answer 401 auth.invalidCredentials, alike', async () => {
      const reg = await registerUser(srv.url);
      const wrong = await srv.http.post('/api/auth/login', { nickname: reg.nickname, password: 'wrong password 1' });
      const unknown = await srv.http.post('/api/auth/login', {
        nickname: uniqueNickname('ghost'),
        password: 'wrong password 1',
      });
      assert.equal(wrong.status, 401);
      assert.equal(unknown.status, 401);
      assert.deepEqual(wrong.body, unknown.body);
      assert.equal(wrong.body.error.code, 'auth.invalidCredentials');
    });

    test('GET /api/me needs a valid bearer token', async () => {
      const none = await srv.http.get('/api/me');
      assert.equal(none.status, 401);
      assert.equal(none.body.error.code, 'auth.required');
      // A forged token of the right shape: its embedded expiry is a day from now (from the clock, so the test means
      // the same on any date), and its random part was never issued.
      const forged = `${(Date.now() + 86_400_000).toString(36)}.${'A'.repeat(43)}`;
      for (const authorization of [
        'Bearer nonsense',
        'Bearer ',
        'Basic dXNlcjpwYXNz',
        `Bearer ${forged}`,
        'Bearer a b',
      ]) {
        const res = await srv.http.get('/api/me', { headers: { authorization } });
        assert.equal(res.status, 401, authorization);
        assert.equal(res.body.error.code, 'auth.invalidToken', authorization);
      }
      // The same forgery with an expiry an hour ago reads as expired: the embedded expiry only chooses the error.
      const stale = `${(Date.now() - 3_600_000).toString(36)}.${'A'.repeat(43)}`;
      const res = await srv.http.get('/api/me', { headers: { authorization: `Bearer ${stale}` } });
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'auth.expiredToken');
    });

    test('logout answers 204 and revokes that token only; reusing it answers 401 auth.invalidToken', async () => {
      const reg = await registerUser(srv.url);
      const other = await srv.http.post<AuthResponse>('/api/auth/login', {
        nickname: reg.nickname,
        password: reg.password,
      });
      const out = await reg.client.post('/api/auth/logout');
      assert.equal(out.status, 204);
      const reuse = await reg.client.get('/api/me');
      assert.equal(reuse.status, 401);
      assert.equal(reuse.body.error.code, 'auth.invalidToken');
      const again = await reg.client.post('/api/auth/logout');
      assert.equal(again.status, 401);
      assert.equal(again.body.error.code, 'auth.invalidToken');
      assert.equal((await http(srv.url, other.body.token).get('/api/me')).status, 200, 'the other session lives on');
      const anonymous = await srv.http.post('/api/auth/logout');
      assert.equal(anonymous.body.error.code, 'auth.required');
    });

    test('a token whose account was deleted answers 401 auth.invalidToken', async () => {
      const reg = await registerUser(srv.url);
      await srv.server.db.User.destroy({ where: { id: reg.user.id } });
      const res = await reg.client.get('/api/me');
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'auth.invalidToken');
    });

    test('an oversized body answers 413 request.tooLarge', async () => {
      const res = await srv.http.post('/api/auth/register', {
        nickname: 'big_body',
        password: `a1${'x'.repeat(40_000)}`,
      });
      assert.equal(res.status, 413);
      assert.equal(res.body.error.code, 'request.tooLarge');
    });

    test('malformed JSON and non-JSON bodies answer 400 request.invalid', async () => {
      const cases: Array<{ raw: string; contentType?: string }> = [
        { raw: '{"nickname":"abc",' },
        { raw: '{nickname: "abc"}' },
        { raw: '' },
        { raw: 'nickname=abc&password=x', contentType: 'application/x-www-form-urlencoded' },
        { raw: '{"nickname":"abcd","password":"secret 123"}', contentType: 'text/plain' },
      ];
      for (const c of cases) {
        const res = await srv.http.post('/api/auth/login', undefined, c);
        assert.equal(res.status, 400, JSON.stringify(c));
        assert.equal(res.body.error.code, 'request.invalid', JSON.stringify(c));
      }
    });

    test('the default avatar is a stable SVG per user', async () => {
      const a = await registerUser(srv.url);
      const b = await registerUser(srv.url);
      const first = await srv.http.get(a.user.avatarUrl);
      assert.equal(first.status, 200);
      assert.match(first.headers.get('content-type') ?? '', /^image\/svg\+xml/);
      assert.match(first.text, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[^>]*>.*<\/svg>$/s);
      assert.match(first.headers.get('cache-control') ?? '', /max-age=/);
      assert.equal((await srv.http.get(a.user.avatarUrl)).text, first.text);
      assert.notEqual((await srv.http.get(b.user.avatarUrl)).text, first.text);
      const bad = await srv.http.get('/api/users/abc/avatar.svg');
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, 'request.invalid');
      const missing = await srv.http.get('/api/users/999999999/avatar.svg');
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error.code, 'request.notFound');
    });
  });
}

describe('token expiry', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ db: 'sqlite', env: { TOKEN_TTL: '2s' } });
  });
  after(async () => {
    await srv?.close();
  });

  test('a token past TOKEN_TTL answers 401 auth.expiredToken', async () => {
    const reg = await registerUser(srv.url);
    assert.ok(
      Date.parse(
        (await srv.http.post<AuthResponse>('/api/auth/login', { nickname: reg.nickname, password: reg.password })).body
          .expiresAt,
      ) -
        Date.now() <=
        2000,
    );
    const expired = await waitFor(async () => {
      const res = await reg.client.get('/api/me');
      return res.status === 401 ? res : null;
    }, 'the token to expire');
    assert.equal(expired.body.error.code, 'auth.expiredToken');
    const out = await reg.client.post('/api/auth/logout');
    assert.equal(out.body.error.code, 'auth.expiredToken');
  });
});

describe('auth rate limit', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ db: 'sqlite', env: { AUTH_RATE_LIMIT: '3' } });
  });
  after(async () => {
    await srv?.close();
  });

  test('past AUTH_RATE_LIMIT requests a minute, auth routes answer 429 request.rateLimited with Retry-After', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await srv.http.post('/api/auth/login', { nickname: 'nobody_here', password: 'wrong pass 1' });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('ratelimit-policy'), '3;w=60');
    }
    const limited = await srv.http.post('/api/auth/register', { nickname: uniqueNickname(), password: TEST_PASSWORD });
    assert.equal(limited.status, 429);
    assert.equal(limited.body.error.code, 'request.rateLimited');
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.equal((await srv.http.get('/healthz')).status, 200, 'other routes are not limited');
  });
});

describe('two API processes on one Redis', { skip: skipUnless('redis') }, () => {
  test('a token from one process works on the other, and a logout on one is honoured by both', async () => {
    const a = await startTestServer({ db: 'sqlite', store: 'redis' });
    const b = await startTestServer({ shareWith: a });
    try {
      const reg = await registerUser(a.url);
      assert.equal((await http(b.url, reg.token).get('/api/me')).status, 200);
      assert.equal((await http(b.url, reg.token).post('/api/auth/logout')).status, 204);
      const res = await reg.client.get('/api/me');
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'auth.invalidToken');
    } finally {
      await b.close();
      await a.close();
    }
  });

  test('they share the auth rate limit', async () => {
    const a = await startTestServer({ db: 'sqlite', store: 'redis', env: { AUTH_RATE_LIMIT: '3' } });
    const b = await startTestServer({ shareWith: a, env: { AUTH_RATE_LIMIT: '3' } });
    try {
      const attempt = (srv: TestServer) =>
        srv.http.post('/api/auth/login', { nickname: 'nobody_here', password: 'wrong pass 1' });
      assert.equal((await attempt(a)).status, 401);
      assert.equal((await attempt(b)).status, 401);
      assert.equal((await attempt(a)).status, 401);
      const limited = await attempt(b);
      assert.equal(limited.status, 429);
      assert.equal(limited.body.error.code, 'request.rateLimited');
    } finally {
      await b.close();
      await a.close();
    }
  });
});

describe('failed logins throttled per account', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({
      db: 'sqlite',
      env: {
        TRUST_PROXY: '1',
        LOGIN_FAILURE_LIMIT: '3',
        LOGIN_ACCOUNT_FAILURE_LIMIT: '5',
        LOGIN_FAILURE_WINDOW: '15s',
      },
    });
  });
  after(async () => {
    await srv?.close();
  });

  const login = (nickname: string, password: string, address: string) =>
    srv.http.post('/api/auth/login', { nickname, password }, { headers: { 'x-forwarded-for': address } });
  const assertThrottled = (res: Awaited<ReturnType<typeof login>>) => {
    assert.equal(res.status, 429);
    assert.equal(res.body.error.code, 'request.rateLimited');
    const retryAfter = Number(res.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 15, `Retry-After ${retryAfter}`);
  };

  test('LOGIN_FAILURE_LIMIT failures from one address close that account to that address, right password too', async () => {
    const victim = await registerUser(srv.url);
    const bystander = await registerUser(srv.url);
    for (let i = 0; i < 3; i++) assert.equal((await login(victim.nickname, 'wrong pass 1', '10.1.0.1')).status, 401);
    assertThrottled(await login(victim.nickname, victim.password, '10.1.0.1'));
    assertThrottled(await login(victim.nickname.toUpperCase(), 'wrong pass 1', '10.1.0.1'));
    // Another account from that address, and that account from another address, are not concerned.
    assert.equal((await login(bystander.nickname, bystander.password, '10.1.0.1')).status, 200);
    assert.equal((await login(victim.nickname, victim.password, '10.1.0.2')).status, 200);
    // The lock-out ends with its window (blocked attempts do not extend it).
    await waitFor(
      async () => (await login(victim.nickname, victim.password, '10.1.0.1')).status === 200,
      'the window to end',
      { timeoutMs: 40_000, intervalMs: 500 },
    );
  });

  test('failures spread over many addresses close the account, except to addresses it signed in from', async () => {
    const victim = await registerUser(srv.url);
    assert.equal((await login(victim.nickname, victim.password, '10.2.0.100')).status, 200, 'her usual address');
    for (let i = 1; i <= 5; i++) {
      assert.equal((await login(victim.nickname, 'wrong pass 1', `10.2.0.${i}`)).status, 401);
    }
    assertThrottled(await login(victim.nickname, victim.password, '10.2.0.50'));
    assertThrottled(await login(victim.nickname, 'wrong pass 1', '10.2.0.51'));
    // The attacker cannot lock her out of where she usually signs in.
    assert.equal((await login(victim.nickname, victim.password, '10.2.0.100')).status, 200);
    // An unknown nickname is throttled alike (the answers do not tell which accounts exist).
    for (let i = 1; i <= 3; i++) assert.equal((await login('nobody_here', 'wrong pass 1', '10.2.1.1')).status, 401);
    assertThrottled(await login('nobody_here', 'wrong pass 1', '10.2.1.1'));
  });
});

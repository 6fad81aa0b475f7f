/** The front end's API client: JSON errors become one ApiError, and a 401 on an authenticated call ends the session. */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ApiClient, type ApiSession } from '../../front/src/rest/ApiClient.js';
import { ApiError, NO_RESPONSE } from '../../front/src/rest/ApiError.js';

/** A session double that records how often it was ended. */
class FakeSession implements ApiSession {
  expired: ApiError[] = [];
  constructor(public token: string | null) {}
  expire(error: ApiError): void {
    this.expired.push(error);
    this.token = null;
  }
}

describe('ApiClient', () => {
  let server: Server;
  let base: string;
  let seen: { method: string; url: string; authorization: string | undefined; body: string }[];

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
        const json = (status: number, payload: unknown) =>
          res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(payload));
        if (req.url?.startsWith('/ok')) return json(200, { hello: 'world' });
        if (req.url === '/empty') return res.writeHead(204).end();
        if (req.url === '/unauthorized')
          return json(401, { error: { code: 'auth.expiredToken', message: 'Your token expired.' } });
        if (req.url === '/taken')
          return json(409, { error: { code: 'auth.nicknameTaken', message: 'That nickname is taken.' } });
        if (req.url === '/unknown-code') return json(400, { error: { code: 'not.aCode', message: 'whatever' } });
        if (req.url === '/gateway')
          return res.writeHead(502, { 'Content-Type': 'text/html' }).end('<h1>Bad gateway</h1>');
        res.writeHead(500).end('not json');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    seen = [];
  });

  it('sends JSON with the bearer token and returns the parsed answer', async () => {
    const client = new ApiClient(base);
    client.bindSession(new FakeSession('t0k3n'));
    const answer = await client.post<{ hello: string }>('/ok', { a: 1 }, { query: { page: 2, skip: undefined } });
    assert.deepEqual(answer, { hello: 'world' });
    assert.deepEqual(seen, [{ method: 'POST', url: '/ok?page=2', authorization: 'Bearer t0k3n', body: '{"a":1}' }]);
  });

  it('leaves the token out when asked to, and answers undefined for 204', async () => {
    const client = new ApiClient(base);
    client.bindSession(new FakeSession('t0k3n'));
    assert.equal(await client.get('/empty', { auth: false }), undefined);
    assert.equal(seen[0]?.authorization, undefined);
  });

  it('turns an error body into an ApiError with its code, message and status', async () => {
    const client = new ApiClient(base);
    const error = await client.post('/taken', {}).catch((e: unknown) => e);
    assert.ok(error instanceof ApiError);
    assert.equal(error.code, 'auth.nicknameTaken');
    assert.equal(error.message, 'That nickname is taken.');
    assert.equal(error.httpStatus, 409);
    assert.equal(error.unreachable, false);
  });

  it('a 401 on a call that carried the token ends the session once', async () => {
    const session = new FakeSession('t0k3n');
    const client = new ApiClient(base);
    client.bindSession(session);
    await assert.rejects(client.get('/unauthorized'), { code: 'auth.expiredToken' });
    assert.equal(session.expired.length, 1);
    assert.equal(session.token, null);
  });

  it('a 401 on a call without the token (logging in) leaves the session alone', async () => {
    const session = new FakeSession('t0k3n');
    const client = new ApiClient(base);
    client.bindSession(session);
    await assert.rejects(client.post('/unauthorized', {}, { auth: false }), { code: 'auth.expiredToken' });
    await assert.rejects(client.post('/unauthorized', {}, { token: 'another' }), { code: 'auth.expiredToken' });
    assert.equal(session.expired.length, 0);
    assert.equal(session.token, 't0k3n');
  });

  it('an error body without a known code, or no JSON at all, becomes an internal error', async () => {
    const client = new ApiClient(base);
    for (const path of ['/unknown-code', '/plain']) {
      const error = await client.get(path).catch((e: unknown) => e);
      assert.ok(error instanceof ApiError, path);
      assert.equal(error.code, 'internal', path);
      assert.equal(error.unreachable, false, path);
    }
  });

  it('a gateway error or a refused connection is reported as the server being unreachable', async () => {
    const gateway = await new ApiClient(base).get('/gateway').catch((e: unknown) => e);
    assert.ok(gateway instanceof ApiError);
    assert.equal(gateway.unreachable, true);

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await new ApiClient(`http://127.0.0.1:${port}`).get('/ok').catch((e: unknown) => e);
    assert.ok(refused instanceof ApiError);
    assert.equal(refused.unreachable, true);
    assert.equal(refused.httpStatus, NO_RESPONSE);
    assert.match(refused.message, /cannot reach/i);
  });
});

/**
 * The front end's signalling client against a bare socket.io server: acknowledgements become results or one
 * ApiError, a refused token ends the session (handshake or event), server events reach listeners until they
 * unsubscribe, and the connection comes back after the server drops it.
 */
import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { Server, type Socket } from 'socket.io';
import { watch } from 'vue';
import { SIGNALLING_PATH } from '../../api/contract/signalling.js';
import { ApiError, NO_RESPONSE } from '../../front/src/rest/ApiError.js';
import { SignallingClient } from '../../front/src/signalling/SignallingClient.js';
import { waitFor } from '../../drivers/wait.js';

const LIVE = {
  id: 'abcdefabcdef',
  title: 'Show',
  presenter: { id: 1, nickname: 'ann', avatarUrl: '/a.svg' },
  startedAt: '2024-01-01T00:00:00.000Z',
  viewerCount: 0,
};

describe('SignallingClient', () => {
  let http: HttpServer;
  let io: Server;
  let url: string;
  let sockets: Socket[];
  const clients: SignallingClient[] = [];

  before(async () => {
    http = createServer();
    io = new Server(http, { path: SIGNALLING_PATH });
    io.use((socket, next) => {
      const token = (socket.handshake.auth as { token?: string }).token;
      if (token === 'good') return next();
      next(
        Object.assign(new Error('token expired'), {
          data: { code: 'auth.expiredToken', message: 'your session has expired' },
        }),
      );
    });
    io.on('connection', (socket) => {
      sockets.push(socket);
      // The live id says how to answer.
      socket.on('viewer:watch', (req: { liveId: string }, ack: (res: unknown) => void) => {
        if (req.liveId === 'silent') return;
        if (req.liveId === 'missing')
          return ack({ ok: false, error: { code: 'live.notFound', message: 'no live with id "missing"' } });
        if (req.liveId === 'weird') return ack({ ok: false, error: { code: 'not.aCode', message: 'whatever' } });
        if (req.liveId === 'revoked')
          return ack({ ok: false, error: { code: 'auth.invalidToken', message: 'your session has ended' } });
        if (req.liveId === 'garbage') return ack('yes');
        ack({ ok: true, live: { ...LIVE, id: req.liveId }, iceServers: [] });
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    sockets = [];
  });

  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
    sockets = [];
  });

  after(async () => {
    await new Promise<void>((resolve) => {
      void io.close(() => resolve());
    });
  });

  function connect(token = 'good', ended: ApiError[] = []): SignallingClient {
    const client = new SignallingClient({
      url,
      token,
      timeoutMs: 500,
      retryDelayMs: 50,
      onSessionEnded: (error) => ended.push(error),
      socket: { transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 100 },
    });
    clients.push(client);
    return client;
  }

  async function rejection(promise: Promise<unknown>): Promise<ApiError> {
    const error = await promise.then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ApiError, String(error));
    return error;
  }

  it('request() resolves with the ok acknowledgement', async () => {
    const client = connect();
    const answer = await client.request('viewer:watch', { liveId: 'abcdefabcdef' });
    assert.equal(answer.ok, true);
    assert.deepEqual(answer.live, LIVE);
    assert.equal(client.status.value, 'connected');
  });

  it('request() throws an ApiError with the code, message and status of an error acknowledgement', async () => {
    const client = connect();
    const error = await rejection(client.request('viewer:watch', { liveId: 'missing' }));
    assert.equal(error.code, 'live.notFound');
    assert.equal(error.message, 'no live with id "missing"');
    assert.equal(error.httpStatus, 404);
    assert.equal(error.unreachable, false);
  });

  it('request() turns an unknown code or a malformed acknowledgement into internal', async () => {
    const client = connect();
    assert.equal((await rejection(client.request('viewer:watch', { liveId: 'weird' }))).code, 'internal');
    assert.equal((await rejection(client.request('viewer:watch', { liveId: 'garbage' }))).code, 'internal');
  });

  it('request() throws an unreachable ApiError when no acknowledgement comes in time', async () => {
    const client = connect();
    const error = await rejection(client.request('viewer:watch', { liveId: 'silent' }));
    assert.equal(error.unreachable, true);
    assert.equal(error.httpStatus, NO_RESPONSE);
  });

  it('a token refused at the handshake ends the session and closes the client', async () => {
    const ended: ApiError[] = [];
    const client = connect('stale', ended);
    await waitFor(() => ended.length === 1, 'the session to end');
    assert.equal(ended[0]!.code, 'auth.expiredToken');
    assert.equal(ended[0]!.httpStatus, 401);
    assert.equal(client.status.value, 'closed');
    assert.equal((await rejection(client.request('viewer:watch', { liveId: 'abcdefabcdef' }))).unreachable, true);
  });

  it('an event answered with a 401 code ends the session', async () => {
    const ended: ApiError[] = [];
    const client = connect('good', ended);
    const error = await rejection(client.request('viewer:watch', { liveId: 'revoked' }));
    assert.equal(error.code, 'auth.invalidToken');
    assert.deepEqual(ended, [error]);
    assert.equal(client.closed, true);
  });

  it('on() delivers server events until its unsubscribe is called', async () => {
    const client = connect();
    await waitFor(() => client.connected, 'the connection');
    const seen: string[] = [];
    const all: string[] = [];
    client.on('lives:removed', ({ liveId }) => all.push(liveId));
    const off = client.on('lives:removed', ({ liveId }) => seen.push(liveId));
    sockets[0]!.emit('lives:removed', { liveId: 'one' });
    await waitFor(() => seen.length === 1, 'the first event');
    off();
    sockets[0]!.emit('lives:removed', { liveId: 'two' });
    await waitFor(() => all.length === 2, 'the second event at the listener still subscribed');
    assert.deepEqual(seen, ['one']);
  });

  it('comes back by itself after the server drops the connection, reporting reconnecting meanwhile', async () => {
    const client = connect();
    await waitFor(() => client.status.value === 'connected', 'the first connection');
    const statuses: string[] = [];
    const stop = watch(client.status, (status) => statuses.push(status), { flush: 'sync' });
    sockets[0]!.disconnect(true);
    await waitFor(() => statuses.includes('connected'), 'the connection to come back');
    stop();
    assert.deepEqual(statuses, ['reconnecting', 'connected']);
    assert.equal(sockets.length, 2);
    assert.equal((await client.request('viewer:watch', { liveId: 'abcdefabcdef' })).ok, true);
  });

  it('close() is idempotent and leaves the status closed', async () => {
    const client = connect();
    await waitFor(() => client.connected, 'the connection');
    client.close();
    client.close();
    assert.equal(client.status.value, 'closed');
    await waitFor(() => sockets[0]!.disconnected, 'the server to see the socket go');
  });
});

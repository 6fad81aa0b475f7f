import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERROR_CODES, OnairError, isErrorCode } from '../../api/contract/errors.js';

// The list is a contract with clients: changing it must be deliberate, so it is pinned here.
const PINNED = [
  'request.invalid',
  'request.tooLarge',
  'request.rateLimited',
  'request.notFound',
  'request.unsupportedType',
  'request.preconditionFailed',
  'request.tooManyConnections',
  'auth.required',
  'auth.invalidToken',
  'auth.expiredToken',
  'auth.invalidCredentials',
  'auth.nicknameTaken',
  'auth.weakPassword',
  'live.notFound',
  'live.ended',
  'live.alreadyLive',
  'live.notPresenter',
  'live.notWatching',
  'sdp.invalid',
  'ice.invalid',
  'media.unavailable',
  'media.failed',
  'media.capacity',
  'ice.restartUnsupported',
  'whip.keyNotFound',
  'whip.tooManyKeys',
  'recording.notFound',
  'recording.forbidden',
  'recording.badRange',
  'recording.invalidSignature',
  'recording.expiredSignature',
  'call.notFound',
  'call.self',
  'call.userNotFound',
  'call.userOffline',
  'call.busy',
  'call.notYours',
  'call.alreadyAnswered',
  'call.ended',
  'server.starting',
  'chat.tooLong',
  'chat.rateLimited',
  'chat.slowMode',
  'chat.muted',
  'chat.unavailable',
  'chat.messageNotFound',
  'internal',
];

test('the error code list is exactly the pinned contract', () => {
  assert.deepEqual(Object.keys(ERROR_CODES).sort(), [...PINNED].sort());
});

test('every code is dotted camelCase and maps to an HTTP error status', () => {
  for (const [code, status] of Object.entries(ERROR_CODES)) {
    assert.match(code, /^[a-z]+(\.[a-z][A-Za-z]*)?$/, code);
    assert.ok(status >= 400 && status < 600, code);
  }
});

test('OnairError carries its code, status and body', () => {
  const err = new OnairError('live.notFound', 'no live with id "x"');
  assert.equal(err.status, 404);
  assert.deepEqual(err.toBody(), { code: 'live.notFound', message: 'no live with id "x"' });
  assert.ok(isErrorCode('call.busy'));
  assert.ok(!isErrorCode('call.nope'));
  assert.ok(!isErrorCode({}));
});

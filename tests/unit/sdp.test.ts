import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MediaError } from '../../media/errors.js';
import { MAX_SDP_BYTES, sentMedia, validateOffer } from '../../media/sdp.js';

const offer = (video: string, audio = video) =>
  [
    'v=0',
    'o=- 1 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0 1',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    'a=mid:0',
    `a=${audio}`,
    'a=rtpmap:111 opus/48000/2',
    'm=video 9 UDP/TLS/RTP/SAVPF 96',
    'a=mid:1',
    `a=${video}`,
    'a=rtpmap:96 VP8/90000',
    '',
  ].join('\r\n');

function rejects(sdp: unknown, role: 'presenter' | 'viewer', pattern: RegExp) {
  assert.throws(
    () => validateOffer(sdp, role),
    (e: unknown) => e instanceof MediaError && e.code === 'sdp.invalid' && pattern.test(e.message),
  );
}

test('validateOffer() accepts a sending presenter offer and a receive-only viewer offer', () => {
  assert.equal(validateOffer(offer('sendrecv'), 'presenter'), offer('sendrecv'));
  assert.equal(validateOffer(offer('recvonly'), 'viewer'), offer('recvonly'));
  // A presenter may send one kind only (a camera without microphone, a radio show).
  assert.equal(validateOffer(offer('sendonly', 'inactive'), 'presenter'), offer('sendonly', 'inactive'));
  assert.equal(validateOffer(offer('recvonly', 'sendrecv'), 'presenter'), offer('recvonly', 'sendrecv'));
});

test('sentMedia() tells which kinds an offer sends: the recorder records those', () => {
  assert.deepEqual(sentMedia(offer('sendrecv')), { audio: true, video: true });
  assert.deepEqual(sentMedia(offer('sendonly', 'recvonly')), { audio: false, video: true });
  assert.deepEqual(sentMedia(offer('inactive', 'sendrecv')), { audio: true, video: false });
  assert.deepEqual(sentMedia(offer('sendrecv').replace('m=audio 9', 'm=audio 0')), { audio: false, video: true });
  // Without a direction attribute a section is sendrecv (RFC 3264), or the session-level direction.
  assert.deepEqual(sentMedia(offer('sendrecv').replace(/a=sendrecv\r\n/g, '')), { audio: true, video: true });
});

test('validateOffer() rejects non-strings, oversized and malformed SDP with sdp.invalid', () => {
  rejects(42, 'presenter', /string/);
  rejects({ sdp: 'v=0' }, 'presenter', /string/);
  rejects('v=0\r\n' + 'a=x\r\n'.repeat(MAX_SDP_BYTES), 'presenter', /larger/);
  rejects('hello', 'presenter', /v=0/);
  rejects('v=0\r\nnot an sdp line\r\n', 'presenter', /malformed line/);
  rejects('v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n', 'presenter', /no media/);
  rejects('v=0\r\nm=video nine\r\n', 'presenter', /malformed media line/);
});

test('validateOffer() rejects an offer that does not fit the role', () => {
  rejects(offer('sendonly'), 'viewer', /receive-only/);
  rejects(offer('recvonly', 'sendrecv'), 'viewer', /receive-only/);
  rejects(offer('recvonly', 'recvonly'), 'presenter', /send audio or video/);
});

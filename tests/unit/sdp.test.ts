import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OnairError } from '../../api/contract/errors.js';
import { MAX_SDP_BYTES, validateOffer } from '../../media/sdp.js';

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
    (e: unknown) => e instanceof OnairError && e.code === 'sdp.invalid' && pattern.test(e.message),
  );
}

test('validateOffer() accepts a sending presenter offer and a receive-only viewer offer', () => {
  assert.equal(validateOffer(offer('sendrecv'), 'presenter'), offer('sendrecv'));
  assert.equal(validateOffer(offer('recvonly'), 'viewer'), offer('recvonly'));
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
  rejects(offer('recvonly', 'sendrecv'), 'presenter', /send video/);
});

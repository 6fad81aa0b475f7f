import assert from 'node:assert/strict';
import { test } from 'node:test';
import { iceServerLinks } from '../../api/http/whipRoutes.js';
import { iceUfragOf, midsOf, parseSdpFragment, withCandidates } from '../../api/whip/sdpfrag.js';
import { recordingContainerFor, recordingProfileFor } from '../../media/Live.js';

const ANSWER = [
  'v=0',
  'o=- 1 1 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=mid:0',
  'a=rtpmap:111 opus/48000/2',
  'm=video 9 UDP/TLS/RTP/SAVPF 102',
  'a=mid:1',
  'a=ice-ufrag:abcd',
  'a=rtpmap:102 H264/90000',
  'a=candidate:0 1 udp 2122260223 127.0.0.1 40000 typ host',
  '',
].join('\r\n');

test('withCandidates puts each candidate in its section by mid, skips those already there, and ends gathering', () => {
  const out = withCandidates(
    ANSWER,
    [
      { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 40001 typ host', sdpMid: '0', sdpMLineIndex: 0 },
      { candidate: 'candidate:0 1 udp 2122260223 127.0.0.1 40000 typ host', sdpMid: '1', sdpMLineIndex: 1 },
      { candidate: 'candidate:2 1 udp 2122260223 127.0.0.1 40002 typ host', sdpMid: 'nope', sdpMLineIndex: 1 },
    ],
    true,
  );
  const lines = out.split('\r\n');
  const video = lines.indexOf('m=video 9 UDP/TLS/RTP/SAVPF 102');
  assert.ok(lines.indexOf('a=candidate:1 1 udp 2122260223 127.0.0.1 40001 typ host') < video, 'by mid');
  assert.ok(lines.indexOf('a=candidate:2 1 udp 2122260223 127.0.0.1 40002 typ host') > video, 'by index');
  assert.equal(lines.filter((l) => l.includes('40000 typ host')).length, 1, 'no duplicate');
  assert.equal(lines.filter((l) => l === 'a=end-of-candidates').length, 2);
  assert.ok(!withCandidates(ANSWER, [], false).includes('end-of-candidates'), 'partial: not ended');
});

test('a trickle-ice-sdpfrag body gives its ufrag and candidates with their mids', () => {
  const fragment = parseSdpFragment(
    'a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\na=candidate:1 1 UDP 1 198.51.100.7 49203 typ host\r\n',
    ['0', '1'],
  );
  assert.deepEqual(fragment, {
    ufrag: 'EsAw',
    candidates: [{ candidate: 'candidate:1 1 UDP 1 198.51.100.7 49203 typ host', sdpMid: '1', sdpMLineIndex: 1 }],
  });
  assert.equal(parseSdpFragment('not sdp at all', []), null);
  assert.equal(iceUfragOf(ANSWER), 'abcd');
  assert.deepEqual(midsOf(ANSWER), ['0', '1']);
});

test('an offer whose video can only be H.264 is recorded in Matroska, any other in WebM', () => {
  const offer = (video: string) =>
    `v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 102\r\na=sendonly\r\n${video}`;
  const h264 = offer('a=rtpmap:102 H264/90000\r\n');
  const both = offer('a=rtpmap:96 VP8/90000\r\na=rtpmap:102 H264/90000\r\n');
  assert.equal(recordingContainerFor(h264), 'mkv');
  assert.equal(recordingProfileFor(h264), 'MKV');
  assert.equal(recordingContainerFor(both), 'webm');
  assert.equal(recordingProfileFor(both), 'WEBM');
});

test('ICE servers become RFC 9725 Link headers, TURN credentials quoted', () => {
  assert.deepEqual(
    iceServerLinks([{ urls: ['turn:t.example:3478', 'turns:t.example:5349'], username: '1:2', credential: 'a"b' }]),
    [
      '<turn:t.example:3478>; rel="ice-server"; username="1:2"; credential="a\\"b"; credential-type="password"',
      '<turns:t.example:5349>; rel="ice-server"; username="1:2"; credential="a\\"b"; credential-type="password"',
    ],
  );
  assert.deepEqual(iceServerLinks([{ urls: 'stun:s.example' }]), ['<stun:s.example>; rel="ice-server"']);
});

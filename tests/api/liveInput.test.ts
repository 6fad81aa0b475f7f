/**
 * With a real media server (the embedded engine, driven by a werift peer in Node): a bad time zone is refused
 * before the live lock is taken, and early ICE candidates (sent before the offer is processed) are queued, not
 * dropped: the peer here can only be reached through them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RTCPeerConnection, type RTCIceCandidate } from 'werift';
import type { Ack } from '../../api/contract/errors.js';
import { registerUser, type SignedInUser } from '../../drivers/http.js';
import { pipelineCount } from '../support/media.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { connectSocket, errorCode, request, type ClientSocket } from '../support/signalling.js';
import { waitFor } from '../../drivers/wait.js';

const stripCandidates = (sdp: string) =>
  sdp
    .split('\r\n')
    .filter((line) => !line.startsWith('a=candidate:') && !line.startsWith('a=end-of-candidates'))
    .join('\r\n');

describe('live input with a media server', () => {
  let srv: TestServer;
  let user: SignedInUser;
  let baseline: number;
  const sockets: ClientSocket[] = [];
  before(async () => {
    srv = await startTestServer({ db: 'sqlite', server: { media: {} } });
    user = await registerUser(srv.url);
    baseline = await pipelineCount(srv);
  });
  after(async () => {
    for (const s of sockets) s.close();
    await srv?.close();
  });
  const connect = async () => {
    const socket = await connectSocket(srv.url, user.token);
    sockets.push(socket);
    return socket;
  };

  test('a time zone that is not one answers request.invalid, before the one-live lock is taken', async () => {
    const socket = await connect();
    for (const timeZone of ['__proto__', 'constructor', 'toString', 'Mars/Olympus', '../../etc/passwd', '']) {
      const ack = await request(socket, 'presenter:start', { title: 'Bad zone', timeZone });
      assert.equal(errorCode(ack), 'request.invalid', timeZone);
    }
    assert.equal(
      errorCode(await request(socket, 'call:present', { callId: 'zzzzzzzzzzzz', timeZone: '__proto__' })),
      'request.invalid',
    );
    // The lock was never taken: the same user goes live at once.
    const start = await request<{ liveId: string }>(socket, 'presenter:start', {
      title: 'Good',
      timeZone: 'Europe/Paris',
    });
    assert.ok(start.ok, JSON.stringify(start));
    assert.ok((await request(socket, 'presenter:stop', { liveId: start.liveId })).ok);
    assert.equal(await pipelineCount(srv), baseline);
  });

  test('early candidates are queued until the endpoint exists: a peer reachable only through them connects', async () => {
    const socket = await connect();
    const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
    try {
      pc.addTransceiver('audio', { direction: 'sendrecv' });
      pc.addTransceiver('video', { direction: 'sendrecv' });
      const gathered: RTCIceCandidate[] = [];
      pc.onIceCandidate.subscribe((candidate) => {
        if (candidate) gathered.push(candidate);
      });
      const start = await request<{ liveId: string }>(socket, 'presenter:start', { title: 'Early ICE' });
      assert.ok(start.ok, JSON.stringify(start));
      const { liveId } = start;
      await pc.setLocalDescription(await pc.createOffer());
      await waitFor(() => pc.iceGatheringState === 'complete', 'werift to gather its host candidates');
      const hosts = gathered.filter((c) => / typ host/.test(c.candidate));
      assert.ok(hosts.length > 0, 'some host candidates');
      // Every candidate before the offer: the endpoint does not exist yet, so each must wait in the queue.
      for (const c of hosts) {
        const ack = await request(socket, 'ice:candidate', {
          liveId,
          role: 'presenter',
          candidate: { candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null },
        });
        assert.ok(ack.ok, JSON.stringify(ack));
      }
      // Neither side learns a candidate any other way: none in the SDP, and the server's trickled ones are ignored,
      // so this peer sends no connectivity check the server could learn its address from.
      const answer = await request<{ sdpAnswer: string }>(socket, 'presenter:offer', {
        liveId,
        sdpOffer: stripCandidates(pc.localDescription!.sdp),
      });
      assert.ok(answer.ok, JSON.stringify(answer));
      await pc.setRemoteDescription({ type: 'answer', sdp: stripCandidates(answer.sdpAnswer) });
      await waitFor(
        () => pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed',
        'ICE to connect through the early candidates',
        { timeoutMs: 30_000 },
      );
      const stopped: Ack = await request(socket, 'presenter:stop', { liveId });
      assert.ok(stopped.ok, JSON.stringify(stopped));
    } finally {
      await pc.close();
    }
    await waitFor(async () => (await pipelineCount(srv)) === baseline, 'the pipeline to be released');
  });
});

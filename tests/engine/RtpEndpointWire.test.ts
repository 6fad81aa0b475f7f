/**
 * RtpEndpoint on the wire, against bare RTP peers in the test (tests/engine/helpers/rtpPeer.ts):
 * peer 1 → rtpIn → rtpOut → peer 2 in one pipeline. RTCP feedback crosses the elements (PLI,
 * NACK, REMB), SRTP interoperates with werift's implementation, bad SDP gets Kurento errors, and
 * release gives the ports back.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { afterEach, describe, test } from 'node:test';
import kurento from 'kurento-client';
import {
  GenericNack,
  PictureLossIndication,
  RtcpPayloadSpecificFeedback,
  RtcpTransportLayerFeedback,
  type RtcpPacket,
} from 'werift';
import { assertBackToBaseline, call, connectClient, useTestEngine, waitFor } from './helpers/engineHarness.js';
import { RtpPeer } from './helpers/rtpPeer.js';

const sdes = kurento.getComplexType('SDES') as (fields: Record<string, unknown>) => Record<string, unknown>;
const PEER_SSRC = 0x11223344;

function isPsfb(p: RtcpPacket, fmt: number): boolean {
  return p instanceof RtcpPayloadSpecificFeedback && p.feedback.count === fmt;
}

describe('RtpEndpoint on the wire', () => {
  const fixture = useTestEngine();
  const peers: RtpPeer[] = [];
  afterEach(async () => {
    for (const peer of peers.splice(0)) peer.close();
    await assertBackToBaseline(fixture.engine.uri, fixture.baseline);
  });

  /** peer 1 offers to rtpIn; rtpOut offers to peer 2; rtpIn feeds rtpOut. */
  const relay = async (opts: { cryptoIn?: boolean; cryptoOut?: boolean } = {}) => {
    const client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const crypto = sdes({ crypto: 'AES_128_CM_HMAC_SHA1_80' });
    const rtpIn = await pipeline.create('RtpEndpoint', opts.cryptoIn ? { crypto } : {});
    const rtpOut = await pipeline.create('RtpEndpoint', opts.cryptoOut ? { crypto } : {});
    await call((cb) => rtpIn.connect(rtpOut, cb));
    const [peer1, peer2] = [await RtpPeer.open(), await RtpPeer.open()];
    peers.push(peer1, peer2);
    const answer = await call<string>((cb) => rtpIn.processOffer(peer1.sdp({ crypto: opts.cryptoIn }), cb));
    peer1.useRemote(answer);
    const offer = await call<string>((cb) => rtpOut.generateOffer(cb));
    assert.match(offer, /^m=video \d+ RTP\/S?AVPF 96\r$/m, 'rtpOut offers its source’s codec only (VP8)');
    peer2.useRemote(offer);
    await call((cb) =>
      rtpOut.processAnswer(peer2.sdp({ crypto: opts.cryptoOut, direction: 'recvonly', rejectAudio: true }), cb),
    );
    return { pipeline, rtpIn, rtpOut, peer1, peer2 };
  };

  const sendFrames = (peer: RtpPeer, seqs: number[]) => {
    for (const seq of seqs) {
      peer.sendRtp({ ssrc: PEER_SSRC, seq, timestamp: seq * 3000, payload: Buffer.from(`frame ${seq}`), marker: true });
    }
  };

  test('packets cross in the endpoint’s own SSRC; a PLI from peer 2 reaches peer 1; NACKs are answered and sent', async () => {
    const { pipeline, rtpOut, peer1, peer2 } = await relay();
    sendFrames(peer1, [100, 101, 102]);
    await waitFor('peer 2 to receive three packets', () => peer2.rtp.length >= 3);
    const [first] = peer2.rtp;
    assert.notEqual(first!.header.ssrc, PEER_SSRC);
    assert.equal(first!.header.payloadType, 96);
    assert.deepEqual(
      peer2.rtp.map((p) => p.payload.toString()),
      ['frame 100', 'frame 101', 'frame 102'],
    );

    // A keyframe request from peer 2 travels back through rtpOut and rtpIn to peer 1, for peer 1's stream.
    const pli = new PictureLossIndication({ senderSsrc: 1, mediaSsrc: first!.header.ssrc });
    peer2.sendRtcp(new RtcpPayloadSpecificFeedback({ feedback: pli }).serialize());
    const got = await waitFor('a PLI at peer 1', () => peer1.rtcp.find((p) => isPsfb(p, 1)));
    assert.equal((got as RtcpPayloadSpecificFeedback).feedback.mediaSsrc, PEER_SSRC);

    // peer 2 reports the second packet lost: rtpOut sends it again, byte for byte.
    const lostSeq = peer2.rtp[1]!.header.sequenceNumber;
    const nack = new GenericNack({ senderSsrc: 1, mediaSourceSsrc: first!.header.ssrc, lost: [lostSeq] });
    peer2.sendRtcp(new RtcpTransportLayerFeedback({ feedback: nack }).serialize());
    await waitFor('the retransmission at peer 2', () => peer2.rtp.length >= 4);
    assert.deepEqual(peer2.rawRtp[3], peer2.rawRtp[1]);

    // peer 1 skips 103 and 104: rtpIn asks for them.
    sendFrames(peer1, [105]);
    const asked = await waitFor('a NACK at peer 1', () =>
      peer1.rtcp.find((p): p is RtcpTransportLayerFeedback => p instanceof RtcpTransportLayerFeedback),
    );
    assert.deepEqual((asked.feedback as GenericNack).lost, [103, 104]);
    const outStats = (await call<any>((cb) => rtpOut.getStats('VIDEO', cb)))['video-outbound'];
    assert.equal(outStats.type, 'outboundrtp');
    assert.equal(outStats.pliCount, 1);
    assert.equal(outStats.nackCount, 1);
    assert.equal(outStats.packetsSent, 4);
    await waitFor('rtpOut to report its video flowing out', () => call((cb) => rtpOut.isMediaFlowingOut('VIDEO', cb)));
    await call((cb) => pipeline.release(cb));
  });

  test('REMB to peer 1 carries the limit of what its media is sent on with', async () => {
    const { pipeline, rtpOut, peer1 } = await relay();
    await call((cb) => rtpOut.setMaxVideoSendBandwidth(300, cb));
    sendFrames(peer1, [1, 2, 3]);
    const remb = await waitFor('a REMB at peer 1', () => peer1.rtcp.find((p) => isPsfb(p, 15)));
    const feedback = (remb as RtcpPayloadSpecificFeedback).feedback as { bitrate: bigint; ssrcFeedbacks: number[] };
    assert.ok(Math.abs(Number(feedback.bitrate) - 300_000) < 3000, `REMB ${feedback.bitrate}`);
    assert.deepEqual(feedback.ssrcFeedbacks, [PEER_SSRC]);
    await call((cb) => pipeline.release(cb));
  });

  test('SRTP interoperates with werift’s implementation both ways (SRTP in, SRTCP back, SRTP out)', async () => {
    const { pipeline, rtpIn, peer1, peer2 } = await relay({ cryptoIn: true, cryptoOut: true });
    const answer = await call<string>((cb) => rtpIn.getLocalSessionDescriptor(cb));
    assert.match(answer, /^m=video \d+ RTP\/SAVPF 96\r$/m);
    sendFrames(peer1, [10, 11, 13]);
    await waitFor('peer 2 to decrypt three packets', () => peer2.rtp.length >= 3);
    assert.deepEqual(
      peer2.rtp.map((p) => p.payload.toString()),
      ['frame 10', 'frame 11', 'frame 13'],
    );
    const asked = await waitFor('an SRTCP NACK at peer 1', () =>
      peer1.rtcp.find((p): p is RtcpTransportLayerFeedback => p instanceof RtcpTransportLayerFeedback),
    );
    assert.deepEqual((asked.feedback as GenericNack).lost, [12]);
    assert.ok(!peer2.rawRtp.some((raw) => raw.includes('frame')), 'nothing in clear on the wire');
    await call((cb) => pipeline.release(cb));
  });

  test('MediaStateChanged follows the remote: CONNECTED at its first packet, DISCONNECTED on silence or BYE', async () => {
    const { pipeline, rtpIn, rtpOut, peer1, peer2 } = await relay();
    const states: string[] = [];
    rtpIn.on('MediaStateChanged', (e: { newState: string }) => states.push(e.newState));
    await call((cb) => rtpIn.getMediaState(cb)).then((s) => assert.equal(s, 'DISCONNECTED'));
    sendFrames(peer1, [1, 2]);
    await waitFor('CONNECTED', () => states.includes('CONNECTED'));
    await waitFor('DISCONNECTED after the peer went silent', () => states.includes('DISCONNECTED'), 15_000);
    sendFrames(peer1, [3]);
    await waitFor('CONNECTED again', () => states.filter((s) => s === 'CONNECTED').length === 2);
    const bye = Buffer.alloc(8);
    bye.writeUInt32BE(0x81cb0001, 0);
    bye.writeUInt32BE(PEER_SSRC, 4);
    peer1.sendRtcp(bye);
    await waitFor('DISCONNECTED at the BYE', () => states.filter((s) => s === 'DISCONNECTED').length === 2, 3000);
    assert.equal(await call((cb) => rtpIn.getMediaState(cb)), 'DISCONNECTED');
    // Releasing an endpoint says BYE to its remote.
    await call((cb) => rtpOut.release(cb));
    await waitFor('a BYE at peer 2', () => peer2.rawRtcp.some((p) => p[1] === 203));
    await call((cb) => pipeline.release(cb));
  });

  test('an offer written as KMS writes it (several codecs, a=rtcp, extmap, ssrc) (plus a data section) is answered with Opus and VP8, the data section rejected', async () => {
    const client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const rtp = await pipeline.create('RtpEndpoint');
    const offer = [
      'v=0',
      'o=- 3908613426 3908613426 IN IP4 127.0.0.1',
      's=Kurento Media Server',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      'm=audio 40000 RTP/AVPF 0 96 97',
      'a=setup:actpass',
      'a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
      'a=rtpmap:0 PCMU/8000',
      'a=rtpmap:96 opus/48000/2',
      'a=rtpmap:97 AMR/8000',
      'a=rtcp:40001',
      'a=sendrecv',
      'a=mid:audio0',
      'a=ssrc:1889021541 cname:user1372392155@host-4bd1b2d1',
      'm=video 40002 RTP/AVPF 103 102',
      'a=setup:actpass',
      'a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
      'a=rtpmap:103 H263-1998/90000',
      'a=rtpmap:102 VP8/90000',
      'a=rtcp:40003',
      'a=rtcp-fb:102 nack',
      'a=rtcp-fb:102 nack pli',
      'a=rtcp-fb:102 goog-remb',
      'a=rtcp-fb:102 ccm fir',
      'a=sendrecv',
      'a=mid:video0',
      'a=ssrc:2730546420 cname:user1372392155@host-4bd1b2d1',
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
      'a=mid:data',
      '',
    ].join('\r\n');
    const answer = await call<string>((cb) => rtp.processOffer(offer, cb));
    assert.match(answer, /^m=audio \d+ RTP\/AVPF 96\r$/m);
    assert.match(answer, /^a=rtpmap:96 opus\/48000\/2\r$/m);
    assert.match(answer, /^m=video \d+ RTP\/AVPF 102\r$/m);
    for (const fb of ['nack', 'nack pli', 'ccm fir', 'goog-remb'])
      assert.ok(answer.includes(`a=rtcp-fb:102 ${fb}\r\n`), fb);
    assert.match(answer, /^a=mid:audio0\r$/m);
    assert.match(answer, /^a=mid:video0\r$/m);
    assert.match(
      answer,
      /^m=application 0 UDP\/DTLS\/SCTP webrtc-datachannel\r$/m,
      'what it does not take is rejected',
    );
    assert.equal(await call((cb) => rtp.getRemoteSessionDescriptor(cb)), offer);
    await call((cb) => pipeline.release(cb));
  });

  test('bad SDP and bad parameters get Kurento errors, and the engine serves on', async () => {
    const client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const rtp = await pipeline.create('RtpEndpoint');
    const code = (err: any) => err?.code as number;
    await assert.rejects(
      call((cb) => rtp.processOffer('garbage', cb)),
      (err) => code(err) === 40201,
    );
    await assert.rejects(
      call((cb) =>
        rtp.processOffer('v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=video 5000 RTP/AVPF 96\r\n', cb),
      ),
      (err) => code(err) === 40201,
      'a section without a connection address',
    );
    const peer = await RtpPeer.open();
    peers.push(peer);
    const h263 = peer.sdp().replace('VP8/90000', 'H263/90000');
    await assert.rejects(
      call((cb) => rtp.processOffer(h263, cb)),
      (err) => code(err) === 40205,
    );
    await assert.rejects(
      call((cb) => rtp.processAnswer(peer.sdp(), cb)),
      (err) => code(err) === 40209,
    );
    await assert.rejects(
      call((cb) => rtp.getRemoteSessionDescriptor(cb)),
      (err) => code(err) === 40203,
    );
    const secure = await pipeline.create('RtpEndpoint', { crypto: sdes({ crypto: 'AES_128_CM_HMAC_SHA1_80' }) });
    await assert.rejects(
      call((cb) => secure.processOffer(peer.sdp(), cb)),
      (err) => code(err) === 40205,
    );
    await assert.rejects(
      pipeline.create('RtpEndpoint', { crypto: sdes({ crypto: 'AES_128_CM_HMAC_SHA1_80', key: 'too short' }) }),
      (err) => code(err) === 40107,
    );
    const offerer = await pipeline.create('RtpEndpoint');
    await call((cb) => offerer.generateOffer(cb));
    await assert.rejects(
      call((cb) => offerer.processAnswer('v=0\r\nnot sdp', cb)),
      (err) => code(err) === 40201,
    );
    await assert.rejects(
      call((cb) => offerer.processAnswer(peer.sdp({ rejectAudio: true }).replace('VP8/90000', 'H263/90000'), cb)),
      (err) => code(err) === 40206,
    );
    // The same endpoint still negotiates a good answer afterwards.
    await call((cb) => offerer.processAnswer(peer.sdp({ rejectAudio: true }), cb));
    assert.equal(await call((cb) => offerer.getConnectionState(cb)), 'CONNECTED');
    await call((cb) => pipeline.release(cb));
  });

  test('release gives the RTP and RTCP ports back', async () => {
    const client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const rtp = await pipeline.create('RtpEndpoint');
    const offer = await call<string>((cb) => rtp.generateOffer(cb));
    const ports = [...offer.matchAll(/^m=\w+ (\d+) .*\r\n(?:[^m].*\r\n)*?a=rtcp:(\d+)/gm)].flatMap((m) => [
      Number(m[1]),
      Number(m[2]),
    ]);
    assert.equal(ports.length, 4);
    assert.ok(
      ports.every((p, i) => (i % 2 === 0 ? p % 2 === 0 : p === ports[i - 1]! + 1)),
      `${ports}`,
    );
    const bindable = (port: number) =>
      new Promise<boolean>((resolve) => {
        const socket = createSocket('udp4');
        socket.once('error', () => resolve(false));
        socket.bind(port, '0.0.0.0', () => socket.close(() => resolve(true)));
      });
    assert.equal(await bindable(ports[0]!), false, 'the port is held while the endpoint lives');
    await call((cb) => pipeline.release(cb));
    await waitFor('the ports to be free', async () => (await Promise.all(ports.map(bindable))).every(Boolean));
  });
});

/**
 * A bare RTP peer for RtpEndpoint tests: an RTP and an RTCP socket on loopback, the SDP that
 * points at them, what arrives on each, and optionally werift's SRTP (AES_CM_128_HMAC_SHA1_80), an
 * implementation independent of the engine's.
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { RtcpPacketConverter, RtpHeader, RtpPacket, SrtcpSession, SrtpSession, type RtcpPacket } from 'werift';

export class RtpPeer {
  readonly rtp: RtpPacket[] = [];
  readonly rawRtp: Buffer[] = [];
  readonly rtcp: RtcpPacket[] = [];
  /** Every RTCP datagram, decrypted (werift does not parse BYE). */
  readonly rawRtcp: Buffer[] = [];
  readonly key = Buffer.alloc(30, 7);
  #remote: { address: string; rtpPort: number; rtcpPort: number } | undefined;
  #srtp: SrtpSession | undefined;
  #srtcp: SrtcpSession | undefined;

  private constructor(
    private readonly rtpSocket: Socket,
    private readonly rtcpSocket: Socket,
  ) {
    rtpSocket.on('message', (msg) => {
      const plain = this.#srtp ? this.#srtp.decrypt(msg) : msg;
      this.rawRtp.push(msg);
      this.rtp.push(RtpPacket.deSerialize(plain));
    });
    rtcpSocket.on('message', (msg) => {
      const plain = this.#srtcp ? this.#srtcp.decrypt(msg) : msg;
      this.rawRtcp.push(plain);
      this.rtcp.push(...RtcpPacketConverter.deSerialize(plain));
    });
  }

  static async open(): Promise<RtpPeer> {
    for (;;) {
      const rtp = createSocket('udp4');
      rtp.bind(0, '127.0.0.1');
      await once(rtp, 'listening');
      const port = rtp.address().port;
      const rtcp = createSocket('udp4');
      const bound = await new Promise<boolean>((resolve) => {
        rtcp.once('error', () => resolve(false));
        rtcp.bind(port + 1, '127.0.0.1', () => resolve(true));
      });
      if (bound) return new RtpPeer(rtp, rtcp);
      rtp.close();
    }
  }

  get rtpPort(): number {
    return this.rtpSocket.address().port;
  }

  /** An SDP with one VP8 video section pointing at this peer (offer or answer). */
  sdp(opts: { direction?: string; crypto?: boolean; rejectAudio?: boolean } = {}): string {
    const proto = opts.crypto ? 'RTP/SAVPF' : 'RTP/AVPF';
    return [
      'v=0',
      'o=- 1 1 IN IP4 127.0.0.1',
      's=peer',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      ...(opts.rejectAudio ? [`m=audio 0 ${proto} 111`] : []),
      `m=video ${this.rtpPort} ${proto} 96`,
      'a=rtpmap:96 VP8/90000',
      'a=rtcp-fb:96 nack',
      'a=rtcp-fb:96 nack pli',
      'a=rtcp-fb:96 goog-remb',
      `a=rtcp:${this.rtpPort + 1}`,
      ...(opts.crypto ? [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${this.key.toString('base64')}`] : []),
      `a=${opts.direction ?? 'sendrecv'}`,
      '',
    ].join('\r\n');
  }

  /** Takes the engine's SDP: where to send, and (with SRTP) its key. */
  useRemote(sdp: string): void {
    const address = /^c=IN IP4 (\S+)/m.exec(sdp)?.[1];
    const video = sdp.slice(sdp.indexOf('m=video'));
    const rtpPort = Number(/^m=video (\d+)/m.exec(video)?.[1]);
    const rtcpPort = Number(/^a=rtcp:(\d+)/m.exec(video)?.[1]);
    if (!address || !rtpPort || !rtcpPort) throw new Error(`no video section to use in:\n${sdp}`);
    this.#remote = { address, rtpPort, rtcpPort };
    const inline = /^a=crypto:\d+ AES_CM_128_HMAC_SHA1_80 inline:(\S+)/m.exec(video)?.[1];
    if (inline) {
      const remote = Buffer.from(inline, 'base64');
      const keys = {
        localMasterKey: this.key.subarray(0, 16),
        localMasterSalt: this.key.subarray(16),
        remoteMasterKey: remote.subarray(0, 16),
        remoteMasterSalt: remote.subarray(16),
      };
      this.#srtp = new SrtpSession({ keys, profile: 1 });
      this.#srtcp = new SrtcpSession({ keys, profile: 1 });
    }
  }

  sendRtp(opts: { ssrc: number; seq: number; timestamp: number; payload: Buffer; marker?: boolean }): void {
    const header = new RtpHeader({
      payloadType: 96,
      sequenceNumber: opts.seq,
      timestamp: opts.timestamp,
      ssrc: opts.ssrc,
      marker: opts.marker ?? false,
    });
    const wire = this.#srtp
      ? this.#srtp.encrypt(opts.payload, header)
      : new RtpPacket(header, opts.payload).serialize();
    this.#send(this.rtpSocket, wire, 'rtp');
  }

  sendRtcp(packet: Buffer): void {
    this.#send(this.rtcpSocket, this.#srtcp ? this.#srtcp.encrypt(packet) : packet, 'rtcp');
  }

  #send(socket: Socket, buf: Buffer, what: 'rtp' | 'rtcp'): void {
    const remote = this.#remote;
    if (!remote) throw new Error('useRemote() first');
    socket.send(buf, what === 'rtp' ? remote.rtpPort : remote.rtcpPort, remote.address);
  }

  close(): void {
    this.rtpSocket.close();
    this.rtcpSocket.close();
  }
}

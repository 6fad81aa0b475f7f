/**
 * A browser (or any WebRTC peer) attached to the pipeline, on a werift RTCPeerConnection.
 *
 * Negotiation follows Kurento: processOffer / generateOffer + processAnswer, candidates trickled
 * with gatherCandidates → IceCandidateFound / IceGatheringDone and addIceCandidate. The engine picks
 * one codec per kind (SdpCodecs), answers as DTLS server (the browser starts the handshake at once)
 * and never negotiates transport-cc. Received packets go to the sinks; packets from this element's
 * sources go out through one OutboundTrack per kind. A set-up that does not reach DTLS-connected in
 * time (or fails) ends with an Error event and the endpoint releasing itself.
 */
import type { Socket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  RTCPeerConnection,
  RTCRtpCodecParameters,
  ReceiverEstimatedMaxBitrate,
  RtcpPayloadSpecificFeedback,
  RtcpSrPacket,
  useAbsSendTime,
  useFIR,
  useNACK,
  usePLI,
  useREMB,
  useSdesMid,
  type MediaStreamTrack,
  type RTCIceCandidate,
  type RTCRtpTransceiver,
  type RtpPacket,
} from 'werift';
import { KurentoError } from '../protocol/KurentoError.js';
import type { ParamReader } from '../protocol/ParamReader.js';
import type { Params } from '../protocol/JsonRpc.js';
import type { CodecName, MediaKind, TrackInfo } from '../rtp/MediaTypes.js';
import { ntpToMs } from '../recording/index.js';
import { guardHelloVerify } from '../rtp/HelloVerifyGuard.js';
import { fixNackLoop } from '../rtp/NackLoopFix.js';
import { OutboundTrack } from '../rtp/OutboundTrack.js';
import { assertSdp, chooseCodec, keepOnly, sectionCodecs, type SdpCodec } from '../rtp/SdpCodecs.js';
import type { MediaElement } from './MediaElement.js';
import type { OperationTable } from './MediaObject.js';
import type { MediaPipeline } from './MediaPipeline.js';
import type { RuntimeContext } from './RuntimeContext.js';
import { KeyframeRequests } from '../rtp/KeyframeRequests.js';
import { SDP_ENDPOINT_DEFAULTS, SdpEndpoint, errorText, type ConnectionState } from './SdpEndpoint.js';
type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
type IceState = 'DISCONNECTED' | 'GATHERING' | 'CONNECTING' | 'CONNECTED' | 'READY' | 'FAILED';

/** Keyframe requests to the remote are at most this frequent; a request inside the window is sent at its end. */
const PLI_INTERVAL_MS = 200;
/** How long processOffer waits for host candidates to be in the answer before answering without them. */
const ANSWER_GATHER_BUDGET_MS = 250;
const MAX_QUEUED_CANDIDATES = 100;
/** Receive buffer per UDP socket (the OS caps it at net.core.rmem_max). */
const RECEIVE_BUFFER_BYTES = 1024 * 1024;
const STREAM_ID = '0';
/** RTCP payload-specific feedback type and REMB's format (application layer feedback). */
const RTCP_PSFB = 206;
const FMT_REMB = 15;

interface Inbound {
  readonly track: MediaStreamTrack;
  readonly transceiver: RTCRtpTransceiver;
  /** Replaced (not changed) when a sender report arrives, so that it travels with the next packets. */
  info: TrackInfo;
}

const WEBRTC_DEFAULTS = {
  stunServerAddress: '',
  stunServerPort: 3478,
  turnUrl: '',
  externalIPv4: '',
  externalIPv6: '',
  networkInterfaces: '',
  iceTcp: false,
  ...SDP_ENDPOINT_DEFAULTS,
};

export class WebRtcEndpoint extends SdpEndpoint<typeof WEBRTC_DEFAULTS> {
  readonly #recvonly: boolean;
  readonly #sendonly: boolean;
  #pc: RTCPeerConnection | undefined;
  readonly #queuedCandidates: Params[] = [];
  readonly #localCandidates: RTCIceCandidate[] = [];
  #gatheringDone = false;
  #gatherRequested = false;
  #emittedCandidates = 0;
  #iceState: IceState = 'DISCONNECTED';
  #connected = false;
  #everConnected = false;
  #setupTimer: NodeJS.Timeout | undefined;
  readonly #inbound: Partial<Record<MediaKind, Inbound>> = {};
  readonly #outbound: Partial<Record<MediaKind, OutboundTrack>> = {};
  #sendCodec: Partial<Record<MediaKind, CodecName>> = {};
  #videoCodec: CodecName | undefined;
  readonly #keyframes = new KeyframeRequests(() => this.#sendPli(), PLI_INTERVAL_MS);

  constructor(id: string, pipeline: MediaPipeline, context: RuntimeContext, params: ParamReader) {
    super(id, 'WebRtcEndpoint', pipeline, context, { ...WEBRTC_DEFAULTS });
    this.#recvonly = params.optionalBoolean('recvonly') ?? false;
    this.#sendonly = params.optionalBoolean('sendonly') ?? false;
    params.optionalBoolean('useDataChannels');
    params.optionalOneOf('certificateKeyType', ['RSA', 'ECDSA']);
    params.optionalString('qosDscp');
    if (this.#recvonly && this.#sendonly) {
      throw new KurentoError('MEDIA_OBJECT_ILLEGAL_PARAM_ERROR', 'recvonly and sendonly cannot both be set');
    }
  }

  override videoCodec(): CodecName | undefined {
    return this.#videoCodec;
  }

  // ---- media -------------------------------------------------------------------------------------

  override consume(packet: RtpPacket, track: TrackInfo): void {
    if (!this.#connected) return;
    const out = this.#outbound[track.kind];
    if (!out || this.#sendCodec[track.kind] !== track.codec) return;
    out.send(packet, Date.now());
  }

  /**
   * A source connected while the peer is up (a resumed presenter): its GOP gives the peer a picture at once. Before
   * DTLS is up, a source with a GOP is not asked for a keyframe: the GOP is sent once DTLS is up.
   */
  protected override onSourceConnected(kind: MediaKind, source: MediaElement): void {
    if (kind === 'video' && this.#connected && this.#outbound.video) this.primeVideoFromSource();
    else if (kind !== 'video' || this.#recvonly || !this.hasGop(source)) super.onSourceConnected(kind, source);
  }

  /** Asks the remote peer for a keyframe, at most every PLI_INTERVAL_MS; once connected if not yet. */
  override requestKeyframe(): void {
    this.#keyframes.request(this.#connected);
  }

  #sendPli(): void {
    const video = this.#inbound.video;
    if (!video?.track.ssrc) return;
    video.transceiver.receiver.sendRtcpPLI(video.track.ssrc).catch(() => undefined);
  }

  #onRtp(inbound: Inbound, packet: RtpPacket): void {
    const kind = inbound.info.kind;
    this.countIn(kind);
    this.forward(kind, packet, inbound.info);
  }

  override tick(): void {
    for (const kind of ['audio', 'video'] as const) {
      const out = this.#outbound[kind];
      if (out) this.setOutCount(kind, out.packets);
    }
    super.tick();
    if (!this.#connected) return;
    const now = Date.now();
    this.#outbound.audio?.report(now);
    this.#outbound.video?.report(now);
    this.#sendRemb();
  }

  /**
   * REMB to the peer whose video this endpoint receives: the lowest limit of the sinks it feeds (KMS's REMB
   * propagation), capped by maxVideoRecvBandwidth, never below minVideoRecvBandwidth (nor 30 kbps).
   */
  #sendRemb(): void {
    const video = this.#inbound.video;
    const ssrc = video?.track.ssrc;
    const dtls = video?.transceiver.receiver.dtlsTransport;
    if (!video || !ssrc || !dtls) return;
    const bitrate = this.rembToSend();
    if (bitrate === undefined) return;
    const brExp = Math.max(0, Math.ceil(Math.log2(bitrate + 1)) - 18);
    const feedback = new ReceiverEstimatedMaxBitrate({
      senderSsrc: video.transceiver.receiver.rtcpSsrc,
      mediaSsrc: 0,
      ssrcNum: 1,
      brExp,
      brMantissa: Math.floor(bitrate / 2 ** brExp),
      ssrcFeedbacks: [ssrc],
    });
    dtls.sendRtcp([new RtcpPayloadSpecificFeedback({ feedback })]).catch(() => undefined);
  }

  // ---- negotiation -------------------------------------------------------------------------------

  protected override checkSdp(sdp: string, what: 'offer' | 'answer'): void {
    assertSdp(sdp, what);
  }

  protected override async answerOffer(offer: string): Promise<string> {
    const offered = sectionCodecs(offer);
    const preferred = this.preferredVideoCodec();
    const chosen = offered.map((s) => chooseCodec(s.kind, s.codecs, preferred));
    if (!chosen.some(Boolean)) {
      throw new KurentoError('SDP_END_POINT_PROCESS_OFFER_ERROR', 'No supported codec offered (Opus, VP8 or H.264)');
    }
    const pc = this.#createPeer(pickCodecs(offered, chosen));
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp: keepOnly(offer, chosen) });
    } catch (err) {
      this.#dropPeer(pc);
      throw new KurentoError('SDP_END_POINT_PROCESS_OFFER_ERROR', `Invalid offer: ${errorText(err)}`);
    }
    this.assertOpen();
    for (const transceiver of pc.getTransceivers())
      transceiver.setDirection(this.#answerDirection(transceiver.offerDirection));
    this.#prepareTransports(pc);
    const answer = await pc.createAnswer();
    const sdp = asDtlsServer(answer.sdp);
    this.remoteSdp = offer;
    this.negotiation = 'negotiated';
    this.#afterNegotiation(pc);
    const applied = pc.setLocalDescription({ type: 'answer', sdp });
    applied.catch((err: unknown) =>
      this.#failSetup('SDP_END_POINT_PROCESS_OFFER_ERROR', `Could not apply answer: ${errorText(err)}`),
    );
    const inTime =
      !this.context.config.kmsFaithful &&
      (await Promise.race([
        applied.then(
          () => true,
          () => true,
        ),
        sleep(ANSWER_GATHER_BUDGET_MS, false, { ref: false }),
      ]));
    this.assertOpen();
    this.localSdp = this.#publicSdp(inTime && pc.localDescription ? pc.localDescription.sdp : sdp);
    return this.localSdp;
  }

  protected override async createOffer(options: Params | undefined): Promise<string> {
    const receiveAudio = options?.offerToReceiveAudio !== false;
    const receiveVideo = options?.offerToReceiveVideo !== false;
    const video = this.preferredVideoCodec() ?? 'VP8';
    const pc = this.#createPeer({ audio: ownCodec('OPUS'), video: ownCodec(video) });
    pc.addTransceiver('audio', { direction: this.#offerDirection(receiveAudio) });
    pc.addTransceiver('video', { direction: this.#offerDirection(receiveVideo) });
    this.#prepareTransports(pc);
    const offer = await pc.createOffer();
    this.assertOpen();
    await pc.setLocalDescription(offer);
    this.assertOpen();
    this.negotiation = 'offer-generated';
    this.localSdp = this.#publicSdp(pc.localDescription?.sdp ?? offer.sdp);
    return this.localSdp;
  }

  protected override async applyAnswer(answer: string): Promise<void> {
    const pc = this.#pc;
    if (!pc) throw new KurentoError('SDP_END_POINT_NOT_OFFER_GENERATED', 'No offer was generated');
    const offered = sectionCodecs(answer);
    const chosen = offered.map((s) => chooseCodec(s.kind, s.codecs, this.preferredVideoCodec()));
    try {
      await pc.setRemoteDescription({ type: 'answer', sdp: keepOnly(answer, chosen) });
    } catch (err) {
      throw new KurentoError('SDP_END_POINT_PROCESS_ANSWER_ERROR', `Invalid answer: ${errorText(err)}`);
    }
    this.assertOpen();
    this.remoteSdp = answer;
    this.negotiation = 'negotiated';
    this.#afterNegotiation(pc);
  }

  async #addIceCandidate(candidate: Params): Promise<void> {
    if (typeof candidate.candidate !== 'string') {
      throw new KurentoError('MARSHALL_ERROR', "'candidate' parameter should be an IceCandidate");
    }
    const pc = this.#pc;
    if (!pc || !pc.remoteDescription) {
      if (this.#queuedCandidates.length >= MAX_QUEUED_CANDIDATES) {
        throw new KurentoError(
          'ICE_ADD_CANDIDATE_ERROR',
          `Too many candidates before negotiation (${MAX_QUEUED_CANDIDATES})`,
        );
      }
      this.#queuedCandidates.push(candidate);
      return;
    }
    await this.#applyCandidate(pc, candidate);
  }

  async #applyCandidate(pc: RTCPeerConnection, candidate: Params): Promise<void> {
    const line = String(candidate.candidate);
    if (line !== '' && !/^(a=)?candidate:\S+ \d+ (udp|tcp) \d+ \S+ \d+ typ \w+/i.test(line)) {
      throw new KurentoError('ICE_ADD_CANDIDATE_ERROR', `Invalid ICE candidate '${line.slice(0, 80)}'`);
    }
    try {
      await pc.addIceCandidate({
        candidate: line.replace(/^a=/, ''),
        sdpMid: typeof candidate.sdpMid === 'string' ? candidate.sdpMid : undefined,
        sdpMLineIndex: typeof candidate.sdpMLineIndex === 'number' ? candidate.sdpMLineIndex : undefined,
      });
    } catch (err) {
      throw new KurentoError('ICE_ADD_CANDIDATE_ERROR', `Could not add ICE candidate: ${errorText(err)}`);
    }
  }

  #gatherCandidates(): void {
    this.#gatherRequested = true;
    this.#flushCandidates();
  }

  #createPeer(codecs: { audio: RTCRtpCodecParameters[]; video: RTCRtpCodecParameters[] }): RTCPeerConnection {
    const config = this.context.config;
    const pc = new RTCPeerConnection({
      codecs,
      headerExtensions: { audio: [useSdesMid()], video: [useSdesMid(), useAbsSendTime()] },
      iceServers: this.#iceServers(),
      iceUseIpv6: false,
      // werift binds every socket to the interface address when one is set: extra addresses would lie.
      iceAdditionalHostAddresses: config.iceAddress ? [] : config.iceExtraAddresses,
      icePortRange: config.rtpPortRange,
      iceUseTcp: false,
      iceInterfaceAddresses: config.iceAddress ? { udp4: config.iceAddress } : undefined,
      bundlePolicy: 'max-bundle',
    });
    this.#pc = pc;
    pc.onTransceiverAdded.subscribe((transceiver) => fixNackLoop(transceiver.receiver));
    pc.onIceCandidate.subscribe((candidate) => {
      if (candidate) this.#localCandidates.push(candidate);
      else this.#gatheringDone = true;
      this.#flushCandidates();
    });
    pc.iceGatheringStateChange.subscribe((state) => {
      if (state === 'gathering') this.#setIceState('GATHERING');
      if (state === 'complete' && !this.#gatheringDone) {
        this.#gatheringDone = true;
        this.#flushCandidates();
      }
    });
    pc.iceConnectionStateChange.subscribe((state) => this.#onIceConnectionState(state));
    pc.connectionStateChange.subscribe((state) => this.#onConnectionState(state));
    return pc;
  }

  /** Forgets a peer whose negotiation failed, so that the endpoint can be negotiated again. */
  #dropPeer(pc: RTCPeerConnection): void {
    if (this.#pc === pc) this.#pc = undefined;
    this.#localCandidates.length = 0;
    this.#emittedCandidates = 0;
    this.#gatheringDone = false;
    pc.close().catch(() => undefined);
  }

  /** Wires tracks and senders once the remote description is applied, and arms the set-up timeout. */
  #afterNegotiation(pc: RTCPeerConnection): void {
    for (const transceiver of pc.getTransceivers()) {
      const kind = transceiver.kind as MediaKind;
      const codec = transceiver.codecs[0];
      const info = codec ? trackInfo(kind, codec.mimeType) : undefined;
      if (!info) continue;
      if (kind === 'video') this.#videoCodec = info.codec;
      const attached = new Set<MediaStreamTrack>();
      const attach = (track: MediaStreamTrack) => {
        if (attached.has(track)) return;
        attached.add(track);
        const inbound: Inbound = { track, transceiver, info };
        track.onReceiveRtp.subscribe((packet) => {
          this.#inbound[kind] = inbound;
          this.#onRtp(inbound, packet);
        });
      };
      transceiver.receiver.tracks.forEach(attach);
      transceiver.onTrack.subscribe(attach);
      transceiver.receiver.onRtcp.subscribe((rtcp) => {
        const inbound = this.#inbound[kind];
        if (!(rtcp instanceof RtcpSrPacket) || !inbound || rtcp.ssrc !== inbound.track.ssrc) return;
        const { ntpTimestamp, rtpTimestamp } = rtcp.senderInfo;
        inbound.info = {
          ...inbound.info,
          senderReport: { ssrc: rtcp.ssrc, ntpMs: ntpToMs(ntpTimestamp), rtpTimestamp },
        };
      });
      const direction = transceiver.currentDirection ?? transceiver.direction;
      if (direction === 'sendrecv' || direction === 'sendonly') {
        const outbound = new OutboundTrack(transceiver.sender, info.clockRate, info.codec);
        // A viewer that fell behind skips to a keyframe: ask for one (throttled at the source).
        outbound.onCongested = () => this.requestKeyframeUpstream();
        this.#outbound[kind] = outbound;
        this.#sendCodec[kind] = info.codec;
        transceiver.sender.onGenericNack.subscribe((nack) => outbound.retransmit(nack.lost));
        transceiver.sender.onPictureLossIndication.subscribe(() => this.requestKeyframeUpstream());
        transceiver.sender.onRtcp.subscribe((rtcp) => {
          if (rtcp.type !== RTCP_PSFB) return;
          const feedback = (rtcp as { feedback?: { count?: number; bitrate?: bigint } }).feedback;
          if (feedback?.count === 4) this.requestKeyframeUpstream();
          if (kind === 'video' && feedback?.count === FMT_REMB && feedback.bitrate !== undefined) {
            this.remoteRembBps = Number(feedback.bitrate);
          }
        });
      }
    }
    for (const candidate of this.#queuedCandidates.splice(0)) {
      this.#applyCandidate(pc, candidate).catch(() => undefined);
    }
    this.#setupTimer = setTimeout(
      () =>
        this.#failSetup(
          'CONNECT_ERROR',
          `WebRTC set-up did not complete within ${this.context.config.setupTimeoutMs} ms`,
        ),
      this.context.config.setupTimeoutMs,
    );
  }

  #flushCandidates(): void {
    if (!this.#gatherRequested) return;
    while (this.#emittedCandidates < this.#localCandidates.length) {
      const candidate = this.#localCandidates[this.#emittedCandidates++]!;
      this.emitEvent('IceCandidateFound', {
        candidate: {
          __module__: 'kurento',
          __type__: 'IceCandidate',
          candidate: this.#publicCandidate(candidate.candidate),
          sdpMid: candidate.sdpMid ?? STREAM_ID,
          sdpMLineIndex: candidate.sdpMLineIndex ?? 0,
        },
      });
    }
    if (this.#gatheringDone && this.#pc) {
      this.#gatherRequested = false;
      this.emitEvent('IceGatheringDone');
    }
  }

  // ---- connection state --------------------------------------------------------------------------

  #onIceConnectionState(state: string): void {
    switch (state) {
      case 'checking':
        return this.#setIceState('CONNECTING');
      case 'connected':
      case 'completed': {
        this.#setIceState('CONNECTED');
        const pair = this.#pc?.iceTransports[0]?.getSelectedCandidatePair();
        if (pair) {
          this.emitEvent('NewCandidatePairSelected', {
            candidatePair: {
              __module__: 'kurento',
              __type__: 'IceCandidatePair',
              streamID: STREAM_ID,
              streamId: STREAM_ID,
              componentID: 1,
              componentId: 1,
              localCandidate: this.#publicCandidate(pair.local.candidate),
              remoteCandidate: pair.remote.candidate,
            },
          });
        }
        return;
      }
      case 'disconnected':
        return this.#setIceState('DISCONNECTED');
      case 'failed':
        this.#setIceState('FAILED');
        if (!this.#everConnected) this.#failSetup('ICE_FAILED', 'ICE connectivity checks failed');
        return;
    }
  }

  #onConnectionState(state: string): void {
    if (state === 'connecting' && !this.#everConnected) this.#dtlsEvent('CONNECTING');
    if (state === 'connected' && !this.#connected) {
      const first = !this.#everConnected;
      this.#connected = true;
      this.#everConnected = true;
      clearTimeout(this.#setupTimer);
      this.#setupTimer = undefined;
      this.#dtlsEvent('CONNECTED');
      this.#setIceState('READY');
      this.emitEvent('ConnectionStateChanged', { oldState: 'DISCONNECTED', newState: 'CONNECTED' });
      this.emitEvent('MediaStateChanged', { oldState: 'DISCONNECTED', newState: 'CONNECTED' });
      if (first) {
        this.emitEvent('MediaSessionStarted');
        this.#deepenReceiveBuffers();
      }
      // The first time, the source's GOP gives the peer a frame at once; a reconnected peer needs a fresh keyframe.
      if (this.#outbound.video) {
        if (first) this.primeVideoFromSource();
        else this.requestKeyframeUpstream();
      }
      if (this.#keyframes.wanted) this.requestKeyframe();
      return;
    }
    if (state !== 'failed' && state !== 'disconnected' && state !== 'closed') return;
    if (!this.#everConnected) {
      if (state === 'failed') {
        this.#dtlsEvent('FAILED');
        this.#failSetup('DTLS_FAILED', 'DTLS handshake failed');
      }
      return;
    }
    if (!this.#connected) return;
    // The peer went away or stopped answering consent checks: tell the client, as KMS does; it decides.
    this.#connected = false;
    this.#dtlsEvent(state === 'failed' ? 'FAILED' : 'CLOSED');
    this.emitEvent('ConnectionStateChanged', { oldState: 'CONNECTED', newState: 'DISCONNECTED' });
    this.emitEvent('MediaStateChanged', { oldState: 'CONNECTED', newState: 'DISCONNECTED' });
  }

  /** A presenter's media must survive a busy moment of this process: deeper socket buffers than the OS default. */
  #deepenReceiveBuffers(): void {
    for (const transport of this.#pc?.iceTransports ?? []) {
      const { protocols } = transport.connection as unknown as { protocols?: { transport?: { socket?: Socket } }[] };
      for (const protocol of protocols ?? []) {
        try {
          protocol.transport?.socket?.setRecvBufferSize(RECEIVE_BUFFER_BYTES);
        } catch {
          // not a bound UDP socket (TCP or TURN): nothing to deepen
        }
      }
    }
  }

  #dtlsEvent(state: string): void {
    this.emitEvent('DtlsConnectionStateChange', { state, streamId: STREAM_ID, componentId: 1, connectionId: this.id });
  }

  #setIceState(state: IceState): void {
    if (this.#iceState === state) return;
    this.#iceState = state;
    this.emitEvent('IceComponentStateChanged', { streamId: 1, componentId: 1, state });
  }

  /** The set-up cannot complete: tell the client and release the endpoint, never hang. */
  #failSetup(errorType: string, description: string): void {
    if (this.closed || this.#everConnected) return;
    if (this.#iceState !== 'FAILED') this.#setIceState('FAILED');
    this.emitError(errorType, description, 40004);
    // KMS never releases an object by itself: the client has to.
    if (!this.context.config.kmsFaithful) this.context.selfReleased([this.id]);
  }

  // ---- helpers -----------------------------------------------------------------------------------

  /**
   * Two fixes for set-ups that stalled under concurrent joins (the other is HelloVerifyGuard):
   * werift falls back to a public STUN server (stun.l.google.com) when none is configured, and its
   * gathering, which ICE waits for, then waits on a DNS lookup and up to 5 s for an answer; under
   * concurrent joins the lookups also queue in libuv's 4-thread pool. Without a configured STUN
   * server the engine gathers host candidates only.
   */
  #prepareTransports(pc: RTCPeerConnection): void {
    if (!this.props.stunServerAddress) {
      for (const transport of pc.iceTransports) transport.connection.stunServer = undefined;
    }
    for (const transport of pc.dtlsTransports) {
      guardHelloVerify(transport, this.context.dtlsAdmission);
      // A DTLS close_notify from the peer (a page that closed its connection) ends the session at once.
      transport.onStateChange.subscribe((state) => state === 'closed' && this.#onConnectionState('closed'));
    }
  }

  /** Our direction in an answer; `allowed` is what the offer lets us do (werift's reversed offerDirection). */
  #answerDirection(allowed: Direction): Direction {
    const canSend = !this.#recvonly && (allowed === 'sendrecv' || allowed === 'sendonly');
    const canReceive = !this.#sendonly && (allowed === 'sendrecv' || allowed === 'recvonly');
    if (canSend && canReceive) return 'sendrecv';
    if (canSend) return 'sendonly';
    return canReceive ? 'recvonly' : 'inactive';
  }

  #offerDirection(receive: boolean): Direction {
    if (this.#recvonly) return receive ? 'recvonly' : 'inactive';
    if (this.#sendonly || !receive) return 'sendonly';
    return 'sendrecv';
  }

  #iceServers(): { urls: string; username?: string; credential?: string }[] {
    const servers: { urls: string; username?: string; credential?: string }[] = [];
    const { stunServerAddress, stunServerPort, turnUrl } = this.props;
    if (stunServerAddress) servers.push({ urls: `stun:${stunServerAddress}:${stunServerPort}` });
    const turn = /^(?:([^:@]*):([^@]*)@)?([^:?]+)(?::(\d+))?(?:\?transport=(udp|tcp|tls))?$/.exec(turnUrl);
    if (turnUrl && turn) {
      const transport = turn[5] ? `?transport=${turn[5] === 'tls' ? 'tcp' : turn[5]}` : '';
      servers.push({
        urls: `${turn[5] === 'tls' ? 'turns' : 'turn'}:${turn[3]}:${turn[4] ?? 3478}${transport}`,
        username: turn[1] ?? '',
        credential: turn[2] ?? '',
      });
    }
    return servers;
  }

  /** Applies externalIPv4/externalIPv6 to host candidates, as KMS does behind NAT. */
  #publicCandidate(line: string): string {
    const { externalIPv4, externalIPv6 } = this.props;
    if (!externalIPv4 && !externalIPv6) return line;
    return line.replace(/^(\S+ \d+ \S+ \d+ )(\S+)( \d+ typ host)/, (all, head: string, ip: string, tail: string) => {
      if (externalIPv4 && ip.includes('.')) return `${head}${externalIPv4}${tail}`;
      if (externalIPv6 && ip.includes(':')) return `${head}${externalIPv6}${tail}`;
      return all;
    });
  }

  #publicSdp(sdp: string): string {
    // KMS's answers and offers carry no candidates: every one of them trickles as IceCandidateFound.
    if (this.context.config.kmsFaithful) sdp = sdp.replace(/^a=(candidate:|end-of-candidates).*\r?\n/gm, '');
    if (!this.props.externalIPv4 && !this.props.externalIPv6) return sdp;
    return sdp.replace(/^a=(candidate:.*)$/gm, (_all, line: string) => `a=${this.#publicCandidate(line)}`);
  }

  protected override mediaState(): ConnectionState {
    return this.#connected ? 'CONNECTED' : 'DISCONNECTED';
  }

  protected override connectionState(): ConnectionState {
    return this.#connected ? 'CONNECTED' : 'DISCONNECTED';
  }

  /** The local description as it is now, with the candidates gathered since the SDP was first given. */
  protected override localDescriptor(local: string): string {
    return this.#pc?.localDescription ? this.#publicSdp(this.#pc.localDescription.sdp) : local;
  }

  protected override operations(): OperationTable {
    return {
      ...super.operations(),
      addIceCandidate: (p) => {
        const candidate = p.object('candidate');
        return this.inOrder(() => this.#addIceCandidate(candidate));
      },
      gatherCandidates: () => this.#gatherCandidates(),
      getICECandidatePairs: () => this.#candidatePairs(),
      getIceConnectionState: () => [
        {
          __module__: 'kurento',
          __type__: 'IceConnection',
          streamId: STREAM_ID,
          componentId: 1,
          state: this.#iceState,
        },
      ],
      getDtlsConnectionState: () => [
        {
          __module__: 'kurento',
          __type__: 'DtlsConnection',
          streamId: STREAM_ID,
          componentId: 1,
          connectionId: this.id,
          state: this.#connected ? 'CONNECTED' : this.#pc ? 'CONNECTING' : 'NEW',
        },
      ],
      createDataChannel: () => {
        throw new KurentoError('NOT_IMPLEMENTED', 'Data channels are not supported by this engine');
      },
      closeDataChannel: () => {
        throw new KurentoError('NOT_IMPLEMENTED', 'Data channels are not supported by this engine');
      },
    };
  }

  #candidatePairs(): Params[] {
    const pair = this.#pc?.iceTransports[0]?.getSelectedCandidatePair();
    if (!pair) return [];
    return [
      {
        __module__: 'kurento',
        __type__: 'IceCandidatePair',
        streamID: STREAM_ID,
        componentID: 1,
        localCandidate: this.#publicCandidate(pair.local.candidate),
        remoteCandidate: pair.remote.candidate,
      },
    ];
  }

  protected override onClose(): void {
    clearTimeout(this.#setupTimer);
    this.#keyframes.close();
    this.#setupTimer = undefined;
    this.#connected = false;
    for (const kind of ['audio', 'video'] as const) {
      delete this.#outbound[kind];
      delete this.#inbound[kind];
    }
    const pc = this.#pc;
    this.#pc = undefined;
    pc?.close().catch(() => undefined);
    if (this.negotiation !== 'none') this.emitEvent('MediaSessionTerminated');
    super.onClose();
  }
}

// ---- codec plumbing ------------------------------------------------------------------------------

const VIDEO_FEEDBACK = () => [useNACK(), usePLI(), useFIR(), useREMB()];

/** werift codec parameters matching the payload types chosen from a remote SDP. */
function pickCodecs(
  offered: { kind: MediaKind; codecs: SdpCodec[] }[],
  chosen: (SdpCodec | undefined)[],
): { audio: RTCRtpCodecParameters[]; video: RTCRtpCodecParameters[] } {
  const audio: RTCRtpCodecParameters[] = [];
  const video: RTCRtpCodecParameters[] = [];
  offered.forEach((section, i) => {
    const codec = chosen[i];
    if (!codec) return;
    const list = section.kind === 'audio' ? audio : video;
    if (list.some((c) => c.payloadType === codec.payloadType)) return;
    list.push(
      new RTCRtpCodecParameters({
        mimeType: `${section.kind}/${codec.name === 'OPUS' ? 'opus' : codec.name}`,
        clockRate: codec.clockRate,
        channels: codec.channels,
        payloadType: codec.payloadType,
        parameters: codec.fmtp,
        rtcpFeedback: section.kind === 'video' ? VIDEO_FEEDBACK() : [],
      }),
    );
  });
  return { audio: audio.length ? audio : ownCodec('OPUS'), video: video.length ? video : ownCodec('VP8') };
}

/** The codec the engine offers itself (generateOffer). */
function ownCodec(name: CodecName): RTCRtpCodecParameters[] {
  if (name === 'OPUS')
    return [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48_000, channels: 2, payloadType: 111 })];
  if (name === 'H264') {
    return [
      new RTCRtpCodecParameters({
        mimeType: 'video/H264',
        clockRate: 90_000,
        payloadType: 102,
        parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
        rtcpFeedback: VIDEO_FEEDBACK(),
      }),
    ];
  }
  return [
    new RTCRtpCodecParameters({
      mimeType: 'video/VP8',
      clockRate: 90_000,
      payloadType: 96,
      rtcpFeedback: VIDEO_FEEDBACK(),
    }),
  ];
}

function trackInfo(kind: MediaKind, mimeType: string): TrackInfo | undefined {
  const name = mimeType.split('/')[1]?.toUpperCase();
  if (kind === 'audio' && name === 'OPUS') return { kind, codec: 'OPUS', clockRate: 48_000 };
  if (kind === 'video' && (name === 'VP8' || name === 'H264')) return { kind, codec: name, clockRate: 90_000 };
  return undefined;
}

/** The engine answers as DTLS server (`a=setup:passive`): the browser, as client, starts the handshake without delay. */
function asDtlsServer(sdp: string): string {
  return sdp.replace(/a=setup:active/g, 'a=setup:passive');
}

/**
 * Plain RTP (or SRTP with SDES keys) to a remote peer, negotiated with SDP as a KMS RtpEndpoint is:
 * generateOffer + processAnswer, or processOffer; no ICE, no DTLS. The usual use is a pair of them
 * cascading media from a pipeline on one media server to a pipeline on another.
 *
 * Each media section gets an RTP/RTCP port pair (RtpSession). What arrives goes to the sinks; what
 * the sources send goes out in this endpoint's own SSRC. RTCP feedback crosses it both ways: a PLI
 * or FIR from the remote asks the video source for a keyframe, a sink's keyframe request becomes a
 * PLI to the remote, NACKs are answered from the sent history (and gaps NACKed), REMB carries the
 * sinks' limit back as it does on a WebRtcEndpoint. ConnectionStateChanged reports CONNECTED once
 * negotiated; MediaStateChanged follows the remote's datagrams (its first, its BYE, a silence), and
 * release says BYE. OnKeySoftLimit can be subscribed to, as on KMS, but never fires (no key lives that long).
 */
import { randomInt } from 'node:crypto';
import os from 'node:os';
import { RtcpPayloadSpecificFeedback, RtcpTransportLayerFeedback, type RtcpPacket, type RtpPacket } from 'werift';
import type { Params } from '../protocol/JsonRpc.js';
import { KurentoError } from '../protocol/KurentoError.js';
import type { ParamReader } from '../protocol/ParamReader.js';
import { KURENTO_MEDIA_TYPES, kindsOf, type CodecName, type MediaKind, type TrackInfo } from '../rtp/MediaTypes.js';
import {
  answerDirection,
  canReceive,
  canSend,
  ownCodecs,
  parseRemoteSdp,
  pickCodec,
  writeSdp,
  type Direction,
  type LocalSection,
  type RemoteSection,
} from '../rtp/RtpSdp.js';
import { RtpSession } from '../rtp/RtpSession.js';
import type { SdpCodec } from '../rtp/SdpCodecs.js';
import { SdesCrypto } from '../rtp/Sdes.js';
import type { OperationTable } from './MediaObject.js';
import type { MediaPipeline } from './MediaPipeline.js';
import type { RuntimeContext } from './RuntimeContext.js';
import { KeyframeRequests } from '../rtp/KeyframeRequests.js';
import { SDP_ENDPOINT_DEFAULTS, SdpEndpoint, errorText, type ConnectionState as State } from './SdpEndpoint.js';

/** Keyframe requests to the remote are at most this frequent; a request inside the window is sent at its end. */
const PLI_INTERVAL_MS = 200;
/** Ticks (seconds) without a datagram from the remote before the media state is DISCONNECTED. */
const SILENCE_TICKS = 5;
const RTCP_RTPFB = 205;
const RTCP_PSFB = 206;
const FMT_NACK = 1;
const FMT_PLI = 1;
const FMT_FIR = 4;
const FMT_REMB = 15;

interface Media {
  readonly kind: MediaKind;
  readonly session: RtpSession;
  readonly mid: string;
  /** The section's index in the SDP, and whether it is in use (port not 0). */
  index: number;
  codec: SdpCodec | undefined;
  info: TrackInfo | undefined;
  direction: Direction;
  offered: SdpCodec[];
  /** The remote sent a BYE for this section (cleared by its next datagram). */
  ended: boolean;
}

export class RtpEndpoint extends SdpEndpoint<typeof SDP_ENDPOINT_DEFAULTS> {
  readonly #ipv6: boolean;
  readonly #portRange: [number, number] | undefined;
  readonly #sdes: SdesCrypto | undefined;
  readonly #media: Partial<Record<MediaKind, Media>> = {};
  readonly #sessionId = String(randomInt(1, 2 ** 47));
  #sdpVersion = 0;
  #connection: State = 'DISCONNECTED';
  #mediaState: State = 'DISCONNECTED';
  #sessionStarted = false;
  #heard = false;
  #silentTicks = 0;
  readonly #keyframes = new KeyframeRequests(() => this.#media.video?.session.sendPli(), PLI_INTERVAL_MS);

  constructor(id: string, pipeline: MediaPipeline, context: RuntimeContext, params: ParamReader) {
    super(id, 'RtpEndpoint', pipeline, context, { ...SDP_ENDPOINT_DEFAULTS });
    this.#ipv6 = params.optionalBoolean('useIpv6') ?? false;
    const minPort = params.optionalInteger('minPort') ?? 0;
    const maxPort = params.optionalInteger('maxPort') ?? 0;
    if (minPort < 0 || maxPort > 65535 || (maxPort > 0 && maxPort <= minPort)) {
      throw new KurentoError('MEDIA_OBJECT_ILLEGAL_PARAM_ERROR', `Invalid port range ${minPort}-${maxPort}`);
    }
    this.#portRange = maxPort > 0 ? [Math.max(minPort, 1024), maxPort] : context.config.rtpPortRange;
    this.#sdes = SdesCrypto.fromParam(params.optionalObject('crypto'));
  }

  override videoCodec(): CodecName | undefined {
    return this.#media.video?.info?.codec;
  }

  // ---- media -------------------------------------------------------------------------------------

  override consume(packet: RtpPacket, track: TrackInfo): void {
    const media = this.#media[track.kind];
    if (!media?.info || !canSend(media.direction) || media.info.codec !== track.codec) return;
    media.session.send(packet, Date.now());
    this.countOut(track.kind);
  }

  /** Asks the remote for a keyframe, at most every PLI_INTERVAL_MS; once its video is heard from if not yet. */
  override requestKeyframe(): void {
    const video = this.#media.video;
    this.#keyframes.request(Boolean(video?.info) && video?.session.remoteSsrc !== undefined);
  }

  #onRtp(media: Media, packet: RtpPacket): void {
    media.ended = false;
    this.#heardFromRemote();
    const info = media.info;
    if (!info || !canReceive(media.direction) || packet.header.payloadType !== media.codec?.payloadType) return;
    this.countIn(media.kind);
    this.forward(media.kind, packet, info);
    if (media.kind === 'video' && this.#keyframes.wanted && !this.#keyframes.scheduled) this.requestKeyframe();
  }

  #onRtcp(media: Media, packets: RtcpPacket[]): void {
    if (packets.length > 0) media.ended = false;
    this.#heardFromRemote();
    for (const rtcp of packets) {
      if (rtcp.type === RTCP_PSFB && rtcp instanceof RtcpPayloadSpecificFeedback) {
        const count = rtcp.feedback.count;
        if (count === FMT_PLI) media.session.feedbackReceived.pli += 1;
        if (count === FMT_FIR) media.session.feedbackReceived.fir += 1;
        if (count === FMT_PLI || count === FMT_FIR) this.requestKeyframeUpstream();
        const bitrate = (rtcp.feedback as { bitrate?: bigint }).bitrate;
        if (count === FMT_REMB && media.kind === 'video' && bitrate !== undefined) this.remoteRembBps = Number(bitrate);
      } else if (rtcp.type === RTCP_RTPFB && rtcp instanceof RtcpTransportLayerFeedback) {
        const lost = (rtcp.feedback as { lost?: number[] }).lost;
        if (rtcp.feedback.count === FMT_NACK && lost) {
          media.session.feedbackReceived.nack += 1;
          media.session.retransmit(lost);
        }
      }
    }
  }

  /** A BYE on the last section still heard from ends the media state (the remote endpoint was released). */
  #onBye(media: Media): void {
    media.ended = true;
    if (Object.values(this.#media).every((m) => m.ended || !m.info)) this.#setMediaState('DISCONNECTED');
  }

  #heardFromRemote(): void {
    this.#heard = true;
    this.#silentTicks = 0;
    if (this.#mediaState === 'CONNECTED') return;
    this.#setMediaState('CONNECTED');
    if (!this.#sessionStarted) {
      this.#sessionStarted = true;
      this.emitEvent('MediaSessionStarted');
    }
  }

  override tick(): void {
    super.tick();
    if (this.negotiation !== 'negotiated') return;
    const now = Date.now();
    for (const media of Object.values(this.#media)) if (media.info) media.session.report(now);
    this.#sendRemb();
    if (this.#heard) {
      this.#heard = false;
    } else if (this.#mediaState === 'CONNECTED' && ++this.#silentTicks >= SILENCE_TICKS) {
      this.#setMediaState('DISCONNECTED');
    }
  }

  /** REMB to the remote whose video this endpoint receives: the lowest limit of the sinks it feeds. */
  #sendRemb(): void {
    const video = this.#media.video;
    if (!video?.info || !canReceive(video.direction)) return;
    const bitrate = this.rembToSend();
    if (bitrate !== undefined) video.session.sendRemb(bitrate);
  }

  // ---- negotiation -------------------------------------------------------------------------------

  protected override async createOffer(options: Params | undefined): Promise<string> {
    const receive = { audio: options?.offerToReceiveAudio !== false, video: options?.offerToReceiveVideo !== false };
    const sections: LocalSection[] = [];
    for (const kind of ['audio', 'video'] as const) {
      const media = await this.#open(kind, sections.length);
      media.offered = ownCodecs(kind, kind === 'video' ? this.preferredVideoCodec() : undefined);
      media.direction = receive[kind] ? 'sendrecv' : 'sendonly';
      sections.push(this.#localSection(media, media.offered));
    }
    this.localSdp = this.#writeSdp(sections);
    this.negotiation = 'offer-generated';
    return this.localSdp;
  }

  protected override async applyAnswer(answer: string): Promise<void> {
    const remote = parseRemoteSdp(answer, 'answer');
    const chosen: { media: Media; section: RemoteSection; codec: SdpCodec }[] = [];
    for (const media of Object.values(this.#media)) {
      const section = remote[media.index];
      if (!section || section.kind !== media.kind) {
        throw new KurentoError(
          'SDP_END_POINT_PROCESS_ANSWER_ERROR',
          `Answer has no ${media.kind} section to match the offer`,
        );
      }
      if (section.port === 0) continue;
      const codec = pickCodec(
        media.kind,
        section.codecs.filter((c) => media.offered.some((o) => o.name === c.name)),
        this.preferredVideoCodec(),
      );
      if (!codec) {
        throw new KurentoError('SDP_END_POINT_PROCESS_ANSWER_ERROR', `Answer has no usable ${media.kind} codec`);
      }
      this.#assertAnswerProfile(section);
      chosen.push({ media, section, codec });
    }
    if (chosen.length === 0) throw new KurentoError('SDP_END_POINT_PROCESS_ANSWER_ERROR', 'Answer accepts no media');
    for (const { media, section, codec } of chosen) {
      const direction = answerDirection(section.direction, canSend(media.direction), canReceive(media.direction));
      this.#apply(media, section, codec, direction);
    }
    this.remoteSdp = answer;
    this.#finishNegotiation();
  }

  protected override async answerOffer(offer: string): Promise<string> {
    const remote = parseRemoteSdp(offer, 'offer');
    const plan: { section: RemoteSection; kind: MediaKind | undefined; codec: SdpCodec | undefined }[] = [];
    for (const section of remote) {
      const kind = section.kind === 'audio' || section.kind === 'video' ? section.kind : undefined;
      const taken = kind && plan.some((p) => p.kind === kind && p.codec);
      const usable = kind && !taken && section.port !== 0 && this.#profileMatches(section);
      const codec = usable
        ? pickCodec(kind, section.codecs, kind === 'video' ? this.preferredVideoCodec() : undefined)
        : undefined;
      plan.push({ section, kind, codec });
    }
    if (!plan.some((p) => p.codec)) {
      throw new KurentoError(
        'SDP_END_POINT_PROCESS_OFFER_ERROR',
        this.#sdes && !remote.some((s) => this.#profileMatches(s))
          ? "Offer has no SRTP (RTP/SAVPF with a=crypto) section for this endpoint's crypto suite"
          : 'No supported codec offered (Opus, VP8 or H.264)',
      );
    }
    const sections: LocalSection[] = [];
    for (const [index, { section, kind, codec }] of plan.entries()) {
      if (!kind || !codec) {
        sections.push(rejected(section, index));
        continue;
      }
      const media = await this.#open(kind, index, section.mid);
      this.#sdes?.answering(kind, section.crypto);
      const direction = answerDirection(section.direction, true, true);
      media.offered = [codec];
      this.#apply(media, section, codec, direction);
      sections.push(this.#localSection(media, [codec]));
    }
    this.localSdp = this.#writeSdp(sections);
    this.remoteSdp = offer;
    this.#finishNegotiation();
    return this.localSdp;
  }

  /** Opens the port pair of a kind (once). */
  async #open(kind: MediaKind, index: number, mid?: string): Promise<Media> {
    const existing = this.#media[kind];
    if (existing) return existing;
    let session: RtpSession;
    try {
      session = await RtpSession.open(kind, {
        ipv6: this.#ipv6,
        bindAddress: this.#bindAddress(),
        range: this.#portRange,
      });
    } catch (err) {
      throw new KurentoError('NOT_ENOUGH_RESOURCES', `Could not open RTP ports: ${errorText(err)}`);
    }
    if (this.closed || this.#media[kind]) {
      session.close();
      this.assertOpen();
      return this.#media[kind]!;
    }
    const media: Media = {
      kind,
      session,
      mid: mid ?? `${kind}0`,
      index,
      codec: undefined,
      info: undefined,
      direction: 'inactive',
      offered: [],
      ended: false,
    };
    this.#media[kind] = media;
    return media;
  }

  #apply(media: Media, section: RemoteSection, codec: SdpCodec, direction: Direction): void {
    media.codec = codec;
    media.direction = direction;
    media.info =
      media.kind === 'audio'
        ? { kind: 'audio', codec: 'OPUS', clockRate: 48_000 }
        : { kind: 'video', codec: codec.name === 'H264' ? 'H264' : 'VP8', clockRate: 90_000 };
    const session = media.session;
    session.payloadType = codec.payloadType;
    session.clockRate = media.info.clockRate;
    session.setRemote({
      address: section.address,
      rtpPort: section.port,
      rtcpAddress: section.rtcpAddress,
      rtcpPort: section.rtcpPort,
    });
    const protection = this.#sdes?.protection(section.crypto);
    session.start(
      {
        rtp: (packet) => this.#onRtp(media, packet),
        rtcp: (packets) => this.#onRtcp(media, packets),
        bye: () => this.#onBye(media),
        rejected: () => undefined,
      },
      protection,
    );
  }

  #finishNegotiation(): void {
    this.negotiation = 'negotiated';
    // Sessions of an offer whose section the answer rejected carry nothing: their ports go back.
    for (const kind of ['audio', 'video'] as const) {
      const media = this.#media[kind];
      if (media && !media.info) {
        media.session.close();
        delete this.#media[kind];
      }
    }
    this.#connection = 'CONNECTED';
    this.emitEvent('ConnectionStateChanged', { oldState: 'DISCONNECTED', newState: 'CONNECTED' });
    const video = this.#media.video;
    if (video && canSend(video.direction)) this.requestKeyframeUpstream();
  }

  #setMediaState(state: State): void {
    if (this.#mediaState === state) return;
    this.emitEvent('MediaStateChanged', { oldState: this.#mediaState, newState: state });
    this.#mediaState = state;
  }

  #localSection(media: Media, codecs: SdpCodec[]): LocalSection {
    const { maxAudioRecvBandwidth, maxVideoRecvBandwidth } = this.props;
    return {
      kind: media.kind,
      port: media.session.rtpPort,
      rtcpPort: media.session.rtcpPort,
      codecs,
      direction: media.direction,
      mid: media.mid,
      ssrc: media.session.ssrc,
      cname: this.#sessionId,
      crypto: this.#sdes?.localKey(media.kind),
      bandwidthKbps: media.kind === 'audio' ? maxAudioRecvBandwidth : maxVideoRecvBandwidth,
    };
  }

  #writeSdp(sections: LocalSection[]): string {
    return writeSdp({
      sessionId: this.#sessionId,
      version: this.#sdpVersion++,
      address: this.#publicAddress(),
      sections,
    });
  }

  /** An SRTP endpoint takes only RTP/SAVP(F) sections, a plain one only RTP/AVP(F) ones. */
  #profileMatches(section: RemoteSection): boolean {
    const secure = /^RTP\/SAVPF?$/.test(section.proto);
    if (!secure && !/^RTP\/AVPF?$/.test(section.proto)) return false;
    if (!this.#sdes) return !secure;
    return secure && this.#sdes.accepts(section.crypto);
  }

  #assertAnswerProfile(section: RemoteSection): void {
    if (this.#profileMatches(section)) return;
    throw new KurentoError(
      'SDP_END_POINT_PROCESS_ANSWER_ERROR',
      this.#sdes
        ? `Answer's ${section.kind} section has no SRTP key for ${this.#sdes.sdpSuite}`
        : `Answer's ${section.kind} section is not plain RTP (${section.proto})`,
    );
  }

  #bindAddress(): string {
    if (this.#ipv6) return '::';
    return this.context.config.iceAddress ?? '0.0.0.0';
  }

  /** The address written in the SDP: ENGINE_ICE_ADDRESS, else the first non-loopback address (as KMS does), else loopback. */
  #publicAddress(): string {
    if (!this.#ipv6 && this.context.config.iceAddress) return this.context.config.iceAddress;
    const family = this.#ipv6 ? 'IPv6' : 'IPv4';
    for (const addresses of Object.values(os.networkInterfaces())) {
      for (const a of addresses ?? []) {
        if (a.family === family && !a.internal && !(this.#ipv6 && a.address.startsWith('fe80'))) return a.address;
      }
    }
    return this.#ipv6 ? '::1' : '127.0.0.1';
  }

  protected override mediaState(): State {
    return this.#mediaState;
  }

  protected override connectionState(): State {
    return this.#connection;
  }

  protected override operations(): OperationTable {
    return {
      ...super.operations(),
      getStats: (p) => this.#stats(p),
    };
  }

  /** Kurento-shaped RTP stats (RTCInboundRTPStreamStats / RTCOutboundRTPStreamStats), keyed `<kind>-inbound|outbound`. */
  #stats(p: ParamReader): Params {
    const kinds = kindsOf(p.optionalOneOf('mediaType', KURENTO_MEDIA_TYPES));
    const now = Date.now();
    const out: Params = {};
    for (const kind of kinds) {
      const media = this.#media[kind];
      if (!media?.info) continue;
      const s = media.session;
      const common = {
        __module__: 'kurento',
        timestamp: Math.floor(now / 1000),
        timestampMillis: now,
        isRemote: false,
        mediaTrackId: kind,
        transportId: `${kind}-transport`,
        codecId: String(media.codec?.payloadType ?? ''),
        sliCount: 0,
        packetsLost: 0,
        fractionLost: 0,
        remb: kind === 'video' ? (this.remoteRembBps ?? 0) : 0,
      };
      if (canReceive(media.direction)) {
        out[`${kind}-inbound`] = {
          ...common,
          __type__: 'RTCInboundRTPStreamStats',
          id: `${kind}-inbound`,
          type: 'inboundrtp',
          ssrc: String(s.remoteSsrc ?? ''),
          associateStatsId: `${kind}-outbound`,
          firCount: 0,
          pliCount: s.feedbackSent.pli,
          nackCount: s.feedbackSent.nack,
          packetsReceived: s.packetsReceived,
          bytesReceived: s.bytesReceived,
          jitter: 0,
          // not in Kurento's type: datagrams refused (failed SRTP authentication, unparseable)
          packetsRejected: s.packetsRejected,
        };
      }
      if (canSend(media.direction)) {
        out[`${kind}-outbound`] = {
          ...common,
          __type__: 'RTCOutboundRTPStreamStats',
          id: `${kind}-outbound`,
          type: 'outboundrtp',
          ssrc: String(s.ssrc),
          associateStatsId: `${kind}-inbound`,
          firCount: s.feedbackReceived.fir,
          pliCount: s.feedbackReceived.pli,
          nackCount: s.feedbackReceived.nack,
          packetsSent: s.packetsSent,
          bytesSent: s.octetsSent,
          targetBitrate: 0,
          roundTripTime: 0,
        };
      }
    }
    return out;
  }

  protected override onClose(): void {
    this.#keyframes.close();
    for (const kind of ['audio', 'video'] as const) {
      const media = this.#media[kind];
      media?.session.close(Boolean(media.info));
      delete this.#media[kind];
    }
    if (this.negotiation === 'negotiated') this.emitEvent('MediaSessionTerminated');
    super.onClose();
  }
}

/** The answer's line for an offered section this endpoint does not take (RFC 3264: port 0). */
function rejected(section: RemoteSection, index: number): LocalSection {
  return {
    kind: section.kind || 'application',
    proto: section.proto,
    formats: section.formats,
    port: 0,
    rtcpPort: 0,
    codecs: section.codecs.slice(0, 1),
    direction: 'inactive',
    mid: section.mid ?? String(index),
    ssrc: 0,
    cname: '',
    crypto: undefined,
    bandwidthKbps: 0,
  };
}

/**
 * The bandwidth properties Kurento's RTP endpoints (WebRtcEndpoint, RtpEndpoint) share, in kbps, with KMS's
 * defaults, and the two limits drawn from them: what the endpoint lets its video source send it, and the REMB it
 * sends the remote whose video it receives.
 */
export const BANDWIDTH_DEFAULTS = {
  minVideoRecvBandwidth: 0,
  minVideoSendBandwidth: 100,
  maxVideoSendBandwidth: 500,
  maxVideoRecvBandwidth: 0,
  maxAudioRecvBandwidth: 0,
};

export type BandwidthProps = typeof BANDWIDTH_DEFAULTS;

/** KMS's floor for the REMB it sends (minVideoRecvBandwidth below it has no effect). */
const MIN_REMB_BPS = 30_000;

/**
 * What the endpoint lets its video source send it, in bps (undefined: no limit): the remote's REMB estimate within
 * [minVideoSendBandwidth, maxVideoSendBandwidth] (0 = unlimited), as KMS does. The normal mode applies only a
 * maxVideoSendBandwidth the client set, not KMS's 500 kbps default.
 */
export function videoSendLimitBps(
  props: BandwidthProps,
  how: { kmsFaithful: boolean; maxSetByClient: boolean; remoteRembBps: number | undefined },
): number | undefined {
  const { maxVideoSendBandwidth, minVideoSendBandwidth } = props;
  if (!how.kmsFaithful) {
    return how.maxSetByClient && maxVideoSendBandwidth > 0 ? maxVideoSendBandwidth * 1000 : undefined;
  }
  let limit = how.remoteRembBps ?? Infinity;
  if (maxVideoSendBandwidth > 0) limit = Math.min(limit, maxVideoSendBandwidth * 1000);
  limit = Math.max(limit, minVideoSendBandwidth * 1000);
  return Number.isFinite(limit) ? limit : undefined;
}

/**
 * The REMB for the remote whose video the endpoint receives, in bps (undefined: none to send): the lowest limit of
 * the sinks it feeds (KMS's REMB propagation), capped by maxVideoRecvBandwidth, never below minVideoRecvBandwidth
 * (nor 30 kbps).
 */
export function rembBps(props: BandwidthProps, downstreamLimitBps: number | undefined): number | undefined {
  const { maxVideoRecvBandwidth, minVideoRecvBandwidth } = props;
  let limit = downstreamLimitBps ?? Infinity;
  if (maxVideoRecvBandwidth > 0) limit = Math.min(limit, maxVideoRecvBandwidth * 1000);
  if (!Number.isFinite(limit)) return undefined;
  return Math.round(Math.max(limit, minVideoRecvBandwidth * 1000, MIN_REMB_BPS));
}

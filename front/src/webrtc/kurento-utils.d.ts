/** The part of kurento-utils (CommonJS, untyped) that onair uses. */
declare module 'kurento-utils' {
  export interface WebRtcPeerOptions {
    /** Plays the stream that comes back from the media server. */
    remoteVideo?: HTMLVideoElement;
    localVideo?: HTMLVideoElement;
    /** A stream to send instead of asking for the camera. */
    videoStream?: MediaStream;
    mediaConstraints?: MediaStreamConstraints;
    /** Merged over kurento-utils' defaults (public STUN servers): always pass `iceServers`. */
    configuration?: RTCConfiguration;
    onicecandidate?: (candidate: RTCIceCandidate) => void;
  }

  export type Callback = (error?: unknown) => void;

  export interface WebRtcPeer {
    readonly peerConnection: RTCPeerConnection;
    generateOffer(callback: (error: unknown, sdpOffer: string) => void): void;
    processAnswer(sdpAnswer: string, callback?: Callback): void;
    addIceCandidate(candidate: RTCIceCandidateInit, callback?: Callback): void;
    dispose(): void;
  }

  export type PeerFactory = (options: WebRtcPeerOptions, callback: Callback) => WebRtcPeer;

  const kurentoUtils: {
    WebRtcPeer: {
      WebRtcPeerSendrecv: PeerFactory;
      WebRtcPeerSendonly: PeerFactory;
      WebRtcPeerRecvonly: PeerFactory;
    };
  };
  export default kurentoUtils;
}

/**
 * Plain types of the media layer that the wire contract (api/contract) passes on to browsers. Imports nothing, so
 * that the front end can read them through the contract.
 */

/** An ICE candidate as both the browser and Kurento spell it. */
export interface IceCandidateInit {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}

/**
 * Why a live ended. `endedElsewhere`: another API process ended it, and this one only lets go of its share
 * (browsers are told `stopped`).
 */
export type LiveEndReason =
  'stopped' | 'presenterLeft' | 'presenterLost' | 'mediaServerLost' | 'failed' | 'shutdown' | 'endedElsewhere';

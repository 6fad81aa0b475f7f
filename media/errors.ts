/**
 * The media layer's own closed error vocabulary. media/ knows nothing of the wire contract: api/ translates these
 * codes to contract codes in one place (api/mediaErrors.ts).
 */
export const MEDIA_ERROR_CODES = [
  /** An SDP offer that is malformed, does not fit its role, or that the media server refused. */
  'sdp.invalid',
  /** An ICE candidate the media server refused, or sent before the endpoint takes candidates. */
  'ice.invalid',
  /** The live or endpoint was closed, before or during the operation. */
  'closed',
  /** A live with this id, or this live's presenter, already exists. */
  'live.exists',
  /** The live has no presenter yet, so nobody can watch it. */
  'live.noPresenter',
  /** The live is not on the media server any more (attaching to another process's pipeline). */
  'live.gone',
  /** This viewer is already watching the live. */
  'viewer.exists',
  /** The media server is not connected. */
  'server.unavailable',
  /** No room for a new endpoint: the media server refused it (Kurento NOT_ENOUGH_RESOURCES), or no server of the
   * pool has room within its configured capacity. */
  'server.capacity',
] as const;

export type MediaErrorCode = (typeof MEDIA_ERROR_CODES)[number];

/** An error of the media layer, with a code from its closed list. */
export class MediaError extends Error {
  readonly code: MediaErrorCode;
  constructor(code: MediaErrorCode, message: string) {
    super(message);
    this.name = 'MediaError';
    this.code = code;
  }
}

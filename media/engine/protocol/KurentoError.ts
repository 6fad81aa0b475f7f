/**
 * The closed vocabulary of errors the engine answers with: Kurento's codes (KurentoException.hpp)
 * plus the plain JSON-RPC ones, each carried on the wire as `{ code, message, data: { type } }`.
 */
export const KMS_ERROR_CODES = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  MARSHALL_ERROR: 40001,
  UNEXPECTED_ERROR: 40003,
  CONNECT_ERROR: 40004,
  UNSUPPORTED_MEDIA_TYPE: 40005,
  NOT_IMPLEMENTED: 40006,
  INVALID_SESSION: 40007,
  MALFORMED_TRANSACTION: 40008,
  NOT_ENOUGH_RESOURCES: 40009,
  MEDIA_OBJECT_TYPE_NOT_FOUND: 40100,
  MEDIA_OBJECT_NOT_FOUND: 40101,
  MEDIA_OBJECT_CONSTRUCTOR_NOT_FOUND: 40104,
  MEDIA_OBJECT_METHOD_NOT_FOUND: 40105,
  MEDIA_OBJECT_EVENT_NOT_SUPPORTED: 40106,
  MEDIA_OBJECT_ILLEGAL_PARAM_ERROR: 40107,
  MEDIA_OBJECT_NOT_AVAILABLE: 40108,
  MEDIA_OBJECT_TAG_KEY_NOT_FOUND: 40110,
  MEDIA_OBJECT_OPERATION_NOT_SUPPORTED: 40111,
  SDP_CREATE_ERROR: 40200,
  SDP_PARSE_ERROR: 40201,
  SDP_END_POINT_NO_LOCAL_SDP_ERROR: 40202,
  SDP_END_POINT_NO_REMOTE_SDP_ERROR: 40203,
  SDP_END_POINT_GENERATE_OFFER_ERROR: 40204,
  SDP_END_POINT_PROCESS_OFFER_ERROR: 40205,
  SDP_END_POINT_PROCESS_ANSWER_ERROR: 40206,
  SDP_END_POINT_ALREADY_NEGOTIATED: 40208,
  SDP_END_POINT_NOT_OFFER_GENERATED: 40209,
  SDP_END_POINT_ANSWER_ALREADY_PROCCESED: 40210,
  ICE_GATHER_CANDIDATES_ERROR: 40400,
  ICE_ADD_CANDIDATE_ERROR: 40401,
  SERVER_MANAGER_ERROR_KMD_NOT_FOUND: 40501,
  PLAYER_SEEK_FAIL: 40601,
} as const;

export type KmsErrorType = keyof typeof KMS_ERROR_CODES;

export interface KmsErrorJson {
  code: number;
  message: string;
  data?: { type: KmsErrorType };
}

/** An error the engine reports to a client with a Kurento code. */
export class KurentoError extends Error {
  override readonly name = 'KurentoError';

  constructor(
    readonly type: KmsErrorType,
    message: string,
  ) {
    super(message);
  }

  get code(): number {
    return KMS_ERROR_CODES[this.type];
  }

  toJSON(): KmsErrorJson {
    if (this.code < 0) return { code: this.code, message: this.message };
    return { code: this.code, message: this.message, data: { type: this.type } };
  }

  /** Rebuilds an error from its wire form (worker replies); unknown codes become UNEXPECTED_ERROR. */
  static fromJSON(json: KmsErrorJson): KurentoError {
    const type = json.data?.type ?? typeFromCode(json.code);
    return new KurentoError(type, json.message);
  }

  /** Any thrown value as a KurentoError: ours pass through, anything else is UNEXPECTED_ERROR. */
  static from(err: unknown): KurentoError {
    if (err instanceof KurentoError) return err;
    const message = err instanceof Error ? err.message || err.name : String(err);
    return new KurentoError('UNEXPECTED_ERROR', message || 'Unexpected error');
  }
}

function typeFromCode(code: number): KmsErrorType {
  const found = (Object.entries(KMS_ERROR_CODES) as [KmsErrorType, number][]).find(([, c]) => c === code);
  return found ? found[0] : 'UNEXPECTED_ERROR';
}

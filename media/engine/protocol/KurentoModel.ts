/**
 * The part of Kurento's class model (core.kmd + elements.kmd 7.x) that the engine serves:
 * which types exist, their hierarchy as `describe` reports it, and which event names a client may
 * subscribe to (the 7.x names and the deprecated 6.x ones).
 */
export const ELEMENT_TYPES = [
  'WebRtcEndpoint',
  'RtpEndpoint',
  'RecorderEndpoint',
  'PlayerEndpoint',
  'PassThrough',
] as const;
export type ElementType = (typeof ELEMENT_TYPES)[number];
export type ObjectType = 'ServerManager' | 'MediaPipeline' | ElementType;

export const SERVER_MANAGER_ID = 'manager_ServerManager';

const ANCESTORS: Record<ObjectType, string[]> = {
  ServerManager: ['MediaObject'],
  MediaPipeline: ['MediaObject'],
  PassThrough: ['Filter', 'MediaElement', 'MediaObject'],
  WebRtcEndpoint: ['BaseRtpEndpoint', 'SdpEndpoint', 'SessionEndpoint', 'Endpoint', 'MediaElement', 'MediaObject'],
  RtpEndpoint: ['BaseRtpEndpoint', 'SdpEndpoint', 'SessionEndpoint', 'Endpoint', 'MediaElement', 'MediaObject'],
  RecorderEndpoint: ['UriEndpoint', 'Endpoint', 'MediaElement', 'MediaObject'],
  PlayerEndpoint: ['UriEndpoint', 'Endpoint', 'MediaElement', 'MediaObject'],
};

const EVENTS_OF_CLASS: Record<string, string[]> = {
  MediaObject: ['Error'],
  ServerManager: ['ObjectCreated', 'ObjectDestroyed'],
  MediaElement: [
    'ElementConnected',
    'ElementDisconnected',
    'MediaFlowInStateChanged',
    'MediaFlowOutStateChanged',
    'MediaTranscodingStateChanged',
  ],
  SessionEndpoint: ['MediaSessionStarted', 'MediaSessionTerminated'],
  BaseRtpEndpoint: ['ConnectionStateChanged', 'MediaStateChanged'],
  WebRtcEndpoint: [
    'DataChannelClosed',
    'DataChannelOpened',
    'DtlsConnectionStateChange',
    'IceCandidateFound',
    'IceComponentStateChanged',
    'IceGatheringDone',
    'NewCandidatePairSelected',
  ],
  RtpEndpoint: ['OnKeySoftLimit'],
  UriEndpoint: ['UriEndpointStateChanged'],
  RecorderEndpoint: ['Paused', 'Recording', 'Stopped'],
  PlayerEndpoint: ['EndOfStream'],
};

/** 6.x event names, subscribed to by older clients, and the 7.x event they stand for. */
export const LEGACY_EVENT_NAMES: Readonly<Record<string, string>> = {
  OnIceCandidate: 'IceCandidateFound',
  OnIceGatheringDone: 'IceGatheringDone',
  OnIceComponentStateChanged: 'IceComponentStateChanged',
  IceComponentStateChange: 'IceComponentStateChanged',
  OnDataChannelOpened: 'DataChannelOpened',
  OnDataChannelClosed: 'DataChannelClosed',
  DataChannelOpen: 'DataChannelOpened',
  DataChannelClose: 'DataChannelClosed',
  MediaFlowInStateChange: 'MediaFlowInStateChanged',
  MediaFlowOutStateChange: 'MediaFlowOutStateChanged',
};

export function isObjectType(type: unknown): type is ObjectType {
  return typeof type === 'string' && Object.hasOwn(ANCESTORS, type);
}

export function isElementType(type: unknown): type is ElementType {
  return typeof type === 'string' && (ELEMENT_TYPES as readonly string[]).includes(type);
}

/** The `describe` answer for a type. */
export function describeType(type: ObjectType): { hierarchy: string[]; qualifiedType: string; type: string } {
  return {
    hierarchy: ANCESTORS[type].map((name) => `kurento.${name}`),
    qualifiedType: `kurento.${type}`,
    type,
  };
}

/** The 7.x event name a subscription stands for, or undefined if objects of `type` never emit it. */
export function canonicalEvent(type: ObjectType, eventName: string): string | undefined {
  const canonical = LEGACY_EVENT_NAMES[eventName] ?? eventName;
  const classes = [type, ...ANCESTORS[type]];
  return classes.some((c) => EVENTS_OF_CLASS[c]?.includes(canonical)) ? canonical : undefined;
}

/** Kurento's id format: `<uuid>_kurento.MediaPipeline` and `<pipelineId>/<uuid>_kurento.<Type>`. */
export const KurentoIds = {
  pipeline(uuid: string): string {
    return `${uuid}_kurento.MediaPipeline`;
  },
  element(pipelineId: string, uuid: string, type: ElementType): string {
    return `${pipelineId}/${uuid}_kurento.${type}`;
  },
  /** The pipeline an id belongs to (itself for a pipeline), or undefined if the id is not in Kurento's format. */
  pipelineOf(id: string): string | undefined {
    const head = id.split('/')[0] ?? '';
    return head.endsWith('_kurento.MediaPipeline') ? head : undefined;
  },
  /** The type named by an id's suffix, if it is one the engine serves. */
  typeOf(id: string): ObjectType | undefined {
    if (id === SERVER_MANAGER_ID) return 'ServerManager';
    const match = /_kurento\.([A-Za-z]+)$/.exec(id);
    return match && isObjectType(match[1]) ? match[1] : undefined;
  },
};

import { z } from 'zod';
import { MAX_SDP_BYTES } from '../../media/sdp.js';
import { CHAT_MAX_CHARS, CHAT_MAX_SLOW_MODE_S, REACTION_KINDS, type ReactionKind } from '../contract/chat.js';
import { PUBLIC_ID_PATTERN } from '../db/ids.js';
import type { ClientToServerEvents } from '../contract/signalling.js';

/** Payload schemas of the client events (api/contract/signalling.ts); strict: unknown keys are refused. */
const liveId = z.string().regex(PUBLIC_ID_PATTERN, 'must be a live id');
const callId = z.string().regex(PUBLIC_ID_PATTERN, 'must be a call id');
/** An IANA time zone the runtime knows ("Europe/Paris", "UTC"); anything else ("__proto__") is refused. */
const timeZone = z
  .string()
  .max(64)
  .refine((zone) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: zone });
      return /^[A-Za-z][A-Za-z0-9_+/-]*$/.test(zone);
    } catch {
      return false;
    }
  }, 'must be an IANA time zone such as Europe/Paris');
const sdp = z.string().min(1).max(MAX_SDP_BYTES, `must be at most ${MAX_SDP_BYTES} characters`);

export const candidate = z
  .object({
    candidate: z.string().max(1024),
    sdpMid: z.string().max(64).nullable().optional(),
    sdpMLineIndex: z.number().int().min(0).max(63).nullable().optional(),
    usernameFragment: z.string().max(256).nullable().optional(),
  })
  .transform(({ candidate, sdpMid, sdpMLineIndex }) => ({
    candidate,
    sdpMid: sdpMid ?? null,
    sdpMLineIndex: sdpMLineIndex ?? null,
  }));

export const schemas = {
  'presenter:start': z
    .object({
      title: z.string().trim().min(1, 'a title is required').max(120),
      timeZone: timeZone.optional(),
    })
    .strict(),
  'presenter:offer': z.object({ liveId, sdpOffer: sdp }).strict(),
  'presenter:resume': z.object({ liveId, sdpOffer: sdp }).strict(),
  'presenter:stop': z.object({ liveId }).strict(),
  'viewer:watch': z.object({ liveId }).strict(),
  'viewer:offer': z.object({ liveId, sdpOffer: sdp }).strict(),
  'viewer:leave': z.object({ liveId }).strict(),
  'ice:candidate': z.object({ liveId, role: z.enum(['presenter', 'viewer']), candidate }).strict(),
  'call:invite': z.object({ nickname: z.string().trim().min(1, 'a nickname is required').max(64) }).strict(),
  'call:accept': z.object({ callId }).strict(),
  'call:reject': z.object({ callId }).strict(),
  'call:cancel': z.object({ callId }).strict(),
  'call:hangUp': z.object({ callId }).strict(),
  'call:present': z.object({ callId, timeZone: timeZone.optional() }).strict(),
  'call:offer': z.object({ callId, liveId, sdpOffer: sdp }).strict(),
  'call:watch': z.object({ callId }).strict(),
  'call:resume': z.object({ callId }).strict(),
  'chat:join': z.object({ liveId }).strict(),
  // Longer texts are refused by the chat with chat.tooLong (counted in characters, after normalisation).
  'chat:send': z.object({ liveId, text: z.string().max(CHAT_MAX_CHARS * 8, 'is far too long') }).strict(),
  'chat:delete': z.object({ liveId, messageId: z.number().int().positive().max(2_147_483_647) }).strict(),
  'chat:mute': z
    .object({ liveId, userId: z.number().int().positive().max(2_147_483_647), muted: z.boolean() })
    .strict(),
  'chat:slowMode': z.object({ liveId, seconds: z.number().int().min(0).max(CHAT_MAX_SLOW_MODE_S) }).strict(),
  'presenter:media': z.object({ liveId, camera: z.boolean(), microphone: z.boolean(), screen: z.boolean() }).strict(),
  'live:mediaState': z.object({ liveId }).strict(),
  'reaction:send': z.object({ liveId, reaction: z.enum(REACTION_KINDS as [ReactionKind, ...ReactionKind[]]) }).strict(),
} as const;

// One shape per request: the contract's ClientToServerEvents. The compiler pins every schema to it, both ways: what
// a handler gets is a valid request, and every valid request passes the schema.
type Request<E extends keyof ClientToServerEvents> = Parameters<ClientToServerEvents[E]>[0];
type Mismatched = {
  [E in keyof ClientToServerEvents]: [z.output<(typeof schemas)[E]>] extends [Request<E>]
    ? [Request<E>] extends [z.input<(typeof schemas)[E]>]
      ? never
      : E
    : E;
}[keyof ClientToServerEvents];
/** Fails to compile, naming the event, when a schema and its request type drift apart. */
export const schemasMatchTheContract: [Mismatched] extends [never] ? true : Mismatched = true;

/** Node-side signalling clients for tests: socket.io-client speaking the contract, and SDP offers made by werift. */
import { io, type Socket } from 'socket.io-client';
import { RTCPeerConnection } from 'werift';
import type { Ack } from '../../api/contract/errors.js';
import {
  SIGNALLING_PATH,
  type ClientToServerEvents,
  type ServerToClientEvents,
} from '../../api/contract/signalling.js';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Connect as a signed-in user (or with no/any token); resolves once connected, rejects with the handshake error. */
export function connectSocket(
  baseUrl: string,
  token: string | null | unknown,
  options: { transports?: Array<'polling' | 'websocket'> } = {},
): Promise<ClientSocket> {
  const socket: ClientSocket = io(baseUrl, {
    path: SIGNALLING_PATH,
    transports: options.transports ?? ['websocket'],
    reconnection: false,
    forceNew: true,
    ...(token === null ? {} : { auth: { token } }),
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err: Error & { data?: unknown }) => {
      socket.close();
      reject(err);
    });
  });
}

/** Emit an event and wait for its acknowledgement. */
export function request<T extends object = object>(
  socket: ClientSocket,
  event: string,
  payload: unknown,
): Promise<Ack<T>> {
  return new Promise((resolve, reject) => {
    (socket.timeout(20_000).emit as (...a: unknown[]) => void)(event, payload, (err: Error | null, res: Ack<T>) =>
      err ? reject(err) : resolve(res),
    );
  });
}

/** Expect an error ack with this code. */
export function errorCode(ack: Ack): string | undefined {
  return ack.ok ? undefined : ack.error.code;
}

/** A real SDP offer (made by werift) that sends (presenter) or only receives (viewer) audio and video. */
export async function makeOffer(role: 'presenter' | 'viewer'): Promise<string> {
  const pc = new RTCPeerConnection({ iceServers: [] });
  try {
    const direction = role === 'presenter' ? 'sendrecv' : 'recvonly';
    pc.addTransceiver('audio', { direction });
    pc.addTransceiver('video', { direction });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    return offer.sdp;
  } finally {
    await pc.close();
  }
}

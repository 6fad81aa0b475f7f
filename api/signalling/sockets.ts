/**
 * The socket side as the services (lives, calls, chat, presence, WHIP) see it: who is behind a socket, how a service
 * reaches sockets on any API process, and the socket.io rooms they share. SignallingServer implements the Notifier.
 */
import type { ServerToClientEvents } from '../contract/signalling.js';

/** Who is asking: the signed-in user behind a socket. */
export interface SocketUser {
  userId: number;
  nickname: string;
  /** The socket's server-side id: candidate queues and viewer endpoints are keyed by it. */
  socketId: string;
}

/** How the service reaches sockets, on this process or (through the socket.io adapter) any other. */
export interface Notifier {
  toSocket<E extends keyof ServerToClientEvents>(
    socketId: string,
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ): void;
  toRoom<E extends keyof ServerToClientEvents>(
    room: string,
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ): void;
  /**
   * To the room's sockets on this process only. For a message that each process delivers to its own sockets, so
   * that it can take them out of the room right after, in order (a room message from another process comes
   * through the adapter on its own Redis connection, in no fixed order with the store's pub/sub).
   */
  toLocalRoom<E extends keyof ServerToClientEvents>(
    room: string,
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ): void;
  join(socketId: string, room: string): void;
  leave(socketId: string, room: string): void;
}

/** Rooms: a live's audience (viewers and presenter get `live:ended`), its presenter alone, every signed-in socket. */
export const rooms = {
  audience: (liveId: string) => `live:${liveId}`,
  presenter: (liveId: string) => `presenter:${liveId}`,
  everyone: 'signed-in',
};

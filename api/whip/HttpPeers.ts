/**
 * WHIP and WHEP clients are not sockets, but LiveService keeps its books per socket id: each HTTP session gets a
 * pseudo socket id (`whip:<id>`, `whep:<id>`), and this notifier hands what LiveService sends to such an id (its
 * ICE candidates) to the session instead of socket.io. Rooms are socket.io's: a pseudo socket joins none.
 */
import type { Notifier } from '../signalling/sockets.js';
import type { ServerToClientEvents } from '../contract/signalling.js';

export type PeerSink = <E extends keyof ServerToClientEvents>(
  event: E,
  ...args: Parameters<ServerToClientEvents[E]>
) => void;

const PSEUDO = /^(whip|whep):/;

export class HttpPeers {
  readonly #sinks = new Map<string, PeerSink>();

  /** Whether a socket id is an HTTP session's. */
  static isPseudo(socketId: string): boolean {
    return PSEUDO.test(socketId);
  }

  add(socketId: string, sink: PeerSink): void {
    this.#sinks.set(socketId, sink);
  }

  remove(socketId: string): void {
    this.#sinks.delete(socketId);
  }

  /** `base` with what is addressed to a pseudo socket routed to its session (dropped if it has none). */
  wrap(base: Notifier): Notifier {
    return {
      toSocket: (socketId, event, ...args) => {
        if (!HttpPeers.isPseudo(socketId)) return base.toSocket(socketId, event, ...args);
        this.#sinks.get(socketId)?.(event, ...args);
      },
      toRoom: (room, event, ...args) => base.toRoom(room, event, ...args),
      toLocalRoom: (room, event, ...args) => base.toLocalRoom(room, event, ...args),
      join: (socketId, room) => {
        if (!HttpPeers.isPseudo(socketId)) base.join(socketId, room);
      },
      leave: (socketId, room) => {
        if (!HttpPeers.isPseudo(socketId)) base.leave(socketId, room);
      },
    };
  }
}

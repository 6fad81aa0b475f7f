/**
 * Keeps werift DTLS clients alive under load, on the engine's DTLS server.
 *
 * The finding behind "joins that hang": a werift DTLS client retransmits its ClientHello after
 * 500 ms without a HelloVerifyRequest. Under concurrent joins (busy event loops) the first
 * HelloVerifyRequest is often merely late, so the server answers the retransmission with a second
 * one, and the werift client throws on it (Flight3 runs twice) and fails its DTLS transport, while
 * the werift server waits silently in "connecting". The guard lets the server answer a cookie-less
 * ClientHello again only after HELLO_REPEAT_MS, which is still in time for the client's next
 * retransmission when the first answer was really lost.
 *
 * It is also where a handshake waits for its turn (DtlsAdmission): a peer's first ClientHello is answered once the
 * handshake is let in; until then the newest one is kept and its retransmissions go no further.
 */
import type { RTCDtlsTransport } from 'werift';
import type { DtlsAdmission } from './DtlsAdmission.js';

const HELLO_REPEAT_MS = 1200;
const CLIENT_HELLO = 1;

interface HandshakeFragment {
  msg_type: number;
  fragment: Buffer;
}

interface DtlsSocketLike {
  onHandleHandshakes: (assembled: HandshakeFragment[]) => Promise<void>;
}

/** Installs the guard on a DTLS transport that acts as server, as soon as its socket exists. */
export function guardHelloVerify(transport: RTCDtlsTransport, admission: DtlsAdmission): void {
  let end: (() => void) | undefined;
  transport.onStateChange.subscribe((state) => {
    if (state === 'connected' || state === 'failed' || state === 'closed') end?.();
    if (state !== 'connecting') return;
    // The transport creates its DTLS socket synchronously right after announcing "connecting".
    queueMicrotask(() => {
      const socket = transport.dtls as unknown as DtlsSocketLike | undefined;
      if (transport.role === 'server' && socket) end = wrap(socket, admission);
    });
  });
}

/** Guards one server socket; returns the end of its handshake (its place in the admission). */
function wrap(socket: DtlsSocketLike, admission: DtlsAdmission): () => void {
  const handle = socket.onHandleHandshakes;
  let answeredAt = -Infinity;
  let end: (() => void) | undefined;
  /** The newest cookie-less ClientHello while the handshake waits for its turn. */
  let waitingHello: HandshakeFragment[] | undefined;
  let admitted = false;
  const start = (): void => {
    admitted = true;
    const assembled = waitingHello;
    waitingHello = undefined;
    if (!assembled) return;
    answeredAt = performance.now();
    handle(assembled).catch(() => undefined);
  };
  socket.onHandleHandshakes = (assembled) => {
    const hello = assembled.find((h) => h.msg_type === CLIENT_HELLO);
    if (hello && !hasCookie(hello.fragment)) {
      if (!admitted) {
        waitingHello = assembled;
        end ??= admission.enter(start);
        return Promise.resolve();
      }
      const now = performance.now();
      if (now - answeredAt < HELLO_REPEAT_MS) return Promise.resolve();
      answeredAt = now;
    }
    return handle(assembled);
  };
  return () => {
    end?.();
    // Ended: a ClientHello arriving later asks for no place.
    end = () => undefined;
  };
}

/** ClientHello: version (2), random (32), session id (1 + n), cookie (1 + n), ... */
function hasCookie(fragment: Buffer): boolean {
  const sessionIdLength = fragment[34];
  if (sessionIdLength === undefined) return false;
  const cookieLength = fragment[35 + sessionIdLength];
  return cookieLength !== undefined && cookieLength > 0;
}

/**
 * The engine's optional native addon (srtp_send.c): a viewer's packet sealed with SRTP AES-128-GCM and sent on its
 * UDP socket in one call, with a key schedule made once per stream.
 *
 * It is what the fan-out spends most of its CPU on: node:crypto makes a cipher object for every packet and dgram's
 * send goes through a lookup and libuv's request objects (bench:fanout: about 1.4 times the CPU per viewer without
 * the addon). Built by `npm run build:native` (node-gyp with a C compiler and Node's headers; .ci/run builds it, the
 * Docker image, whose app drives a real KMS, does not). Without it, or with ENGINE_NATIVE=off, the engine seals with
 * node:crypto and sends with dgram: the same bytes on the wire, more CPU per viewer.
 */
import { createRequire } from 'node:module';
import type { Socket } from 'node:dgram';

/** An AES-128-GCM key schedule held by the addon, freed with this value. */
export type GcmContext = { readonly __brand: 'GcmContext' };

export interface NativeSrtp {
  /** A context keyed with this 16-byte key. */
  gcmContext(key: Buffer): GcmContext;
  /** The destination for sendTo/sealTo; null when ip is not an IPv4 or IPv6 address. */
  sockaddr(ip: string, port: number): Buffer | null;
  /** Sends packet on fd; bytes sent, or -errno. */
  sendTo(fd: number, address: Buffer, packet: Buffer): number;
  /**
   * Writes header (12 bytes), payload encrypted with header as additional data and iv, and the tag into out
   * (12 + payload + 16 bytes), then sends out on fd unless fd is negative: bytes sent (0 without sending), or -errno.
   */
  sealTo(
    context: GcmContext,
    fd: number,
    address: Buffer,
    header: Buffer,
    iv: Buffer,
    payload: Buffer,
    out: Buffer,
  ): number;
}

/** Where node-gyp puts it (media/engine/native/build, not committed). */
const ADDON = './build/Release/srtp_send.node';

function load(): { addon: NativeSrtp | null; status: string } {
  if (process.env.ENGINE_NATIVE === 'off') return { addon: null, status: 'off (ENGINE_NATIVE=off)' };
  try {
    return { addon: createRequire(import.meta.url)(ADDON) as NativeSrtp, status: 'on' };
  } catch (error) {
    return { addon: null, status: `not built (npm run build:native): ${(error as Error).message.split('\n')[0]}` };
  }
}

const loaded = load();
/** The addon, or null when it is not built or is turned off. */
export const nativeSrtp: NativeSrtp | null = loaded.addon;
/** 'on', or why not: for the worker's start-up log. */
export const nativeSrtpStatus: string = loaded.status;

let stateSymbol: symbol | undefined;

/**
 * The descriptor of a dgram socket while it is open, undefined once closed (or if Node's dgram stops holding its
 * handle where it does today). Read for each send, never kept: a closed socket's number is soon another's.
 */
export function udpFd(socket: Socket): number | undefined {
  stateSymbol ??= Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  if (!stateSymbol) return undefined;
  const fd = (socket as unknown as Record<symbol, { handle?: { fd?: unknown } | null } | undefined>)[stateSymbol]
    ?.handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

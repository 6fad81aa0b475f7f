/**
 * The engine's settings, read once from the environment. Defaults bind to loopback (the Kurento
 * protocol has no authentication) and keep a disconnected client's objects for KMS's ~4 minutes.
 *
 * ENGINE_HOST (127.0.0.1), ENGINE_PORT (8888), ENGINE_WORKERS (one per core; 0 = media in the server
 * process), ENGINE_SESSION_GRACE_MS (240000), ENGINE_MAX_MESSAGE_BYTES (1 MiB),
 * ENGINE_MAX_OBJECTS_PER_SESSION (20000), ENGINE_SETUP_TIMEOUT_MS (30000), ENGINE_RTP_MIN_PORT and
 * ENGINE_RTP_MAX_PORT (any port), ENGINE_ICE_EXTRA_ADDRESSES (127.0.0.1), ENGINE_ICE_ADDRESS (all
 * interfaces), ENGINE_FILE_ROOT (anywhere). ENGINE_WORKER_NODE_FLAGS (none) adds Node flags to the
 * media workers, e.g. --cpu-prof. ENGINE_NATIVE (on when built; `off`: without the native addon) is read by
 * native/index.ts, where the addon is loaded.
 *
 * ENGINE_MAX_ENDPOINTS (0 = no limit): WebRtcEndpoints the whole engine carries at once, across its
 * workers; creating one more is refused with NOT_ENOUGH_RESOURCES (onair answers `media.capacity`), so
 * that a full engine turns new viewers away instead of degrading everyone. ENGINE_GOP_CACHE_BYTES (2 MiB;
 * 0 = off): the most bytes of the current video GOP each source keeps for new viewers' first frame.
 * ENGINE_DTLS_CONCURRENCY (8; 0 = no limit): DTLS handshakes each media worker works on at once, first come first
 * served, so that in a join storm the first viewers get media first (DtlsAdmission).
 *
 * ENGINE_SECRET: the Kurento WebSocket only accepts clients whose URI carries it as
 * `?access_token=SECRET` (kurento-client's own `access_token` option puts it there), and never a
 * request with an Origin header (a browser page). Required: `npm run engine` refuses to start without
 * it unless ENGINE_NO_SECRET=true, which is accepted only on a loopback ENGINE_HOST (local development;
 * the Origin check still applies). The API's spawned engine gets a random one through its environment.
 *
 * ENGINE_KMS_FAITHFUL (false): reproduce the behaviours of a real Kurento Media Server 7 that a media
 * layer must cope with, instead of the engine's friendlier defaults: requests of one connection
 * answered one at a time; SDP answers and offers without candidates (all trickle); the 500 kbps
 * default maxVideoSendBandwidth on forwarded video, with REMB carrying the lowest viewer estimate back
 * to the presenter; recorder failures only as asynchronous Error events, stopAndWait returning after
 * 4 s even if the file was not finished; no self-release of endpoints whose set-up timed out; a
 * recorder (or its pipeline) released before its stop completed leaves a truncated file; a WEBM
 * recorder writes no media until both audio and video flow; objects reached by more than one session
 * are never garbage-collected. ENGINE_SESSION_GRACE_MS still sets the collection grace.
 */
import os from 'node:os';

export interface EngineConfig {
  host: string;
  port: number;
  /** Media worker processes; 0 runs the media in the server process itself. */
  workers: number;
  /** How long objects of a session whose connection is gone are kept before being released. */
  sessionGraceMs: number;
  /** Largest JSON-RPC message answered normally; larger ones get an error, frames over 4x it close the socket. */
  maxMessageBytes: number;
  maxObjectsPerSession: number;
  /** An endpoint whose ICE/DTLS set-up has not completed by then fails with an Error event and is released. */
  setupTimeoutMs: number;
  /** UDP port range for ICE, inclusive; undefined lets the OS choose. */
  rtpPortRange: [number, number] | undefined;
  /** Host addresses gathered in addition to the machine's interfaces (werift skips loopback otherwise). */
  iceExtraAddresses: string[];
  /** The one IPv4 address ICE binds to and offers, when set (the extra addresses are then not used). */
  iceAddress: string | undefined;
  /** If set, recordings and players may only use file:// URIs inside this folder. */
  fileRoot: string | undefined;
  /** The secret clients must carry as `?access_token=`; undefined only when explicitly disabled on loopback. */
  secret: string | undefined;
  /** Reproduce a real KMS's behaviours (see the header). */
  kmsFaithful: boolean;
  /** WebRtcEndpoints the engine carries at most (all workers together); 0: no limit. */
  maxEndpoints: number;
  /** Bytes of its current GOP each video source keeps for new sinks; 0 disables the cache. */
  gopCacheBytes: number;
  /** DTLS handshakes each media process works on at once, the others waiting their turn; 0: no limit. */
  dtlsConcurrency: number;
}

/** How long a KMS recorder's stopAndWait waits for the file to be finished before returning anyway. */
export const KMS_STOP_AND_WAIT_TIMEOUT_MS = 4000;

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): EngineConfig {
  const min = intOr(env.ENGINE_RTP_MIN_PORT, 0);
  const max = intOr(env.ENGINE_RTP_MAX_PORT, 0);
  const host = env.ENGINE_HOST || '127.0.0.1';
  return {
    host,
    port: intOr(env.ENGINE_PORT, 8888),
    workers: intOr(env.ENGINE_WORKERS, os.availableParallelism()),
    sessionGraceMs: intOr(env.ENGINE_SESSION_GRACE_MS, 240_000),
    maxMessageBytes: intOr(env.ENGINE_MAX_MESSAGE_BYTES, 1024 * 1024),
    maxObjectsPerSession: intOr(env.ENGINE_MAX_OBJECTS_PER_SESSION, 20_000),
    setupTimeoutMs: intOr(env.ENGINE_SETUP_TIMEOUT_MS, 30_000),
    rtpPortRange: min > 0 && max > min ? [min, max] : undefined,
    iceExtraAddresses: listOr(env.ENGINE_ICE_EXTRA_ADDRESSES, ['127.0.0.1']),
    iceAddress: env.ENGINE_ICE_ADDRESS || undefined,
    fileRoot: env.ENGINE_FILE_ROOT || undefined,
    secret: secretOf(env, host),
    kmsFaithful: boolOr(env.ENGINE_KMS_FAITHFUL, false),
    maxEndpoints: intOr(env.ENGINE_MAX_ENDPOINTS, 0),
    gopCacheBytes: intOr(env.ENGINE_GOP_CACHE_BYTES, 2 * 1024 * 1024),
    dtlsConcurrency: intOr(env.ENGINE_DTLS_CONCURRENCY, 8),
  };
}

function secretOf(env: NodeJS.ProcessEnv, host: string): string | undefined {
  const secret = env.ENGINE_SECRET?.trim();
  if (secret) {
    if (secret.length < 16 || !/^[A-Za-z0-9._~-]+$/.test(secret)) {
      throw new Error(
        'invalid engine setting: ENGINE_SECRET must be at least 16 URI-safe characters (A-Z a-z 0-9 . _ ~ -)',
      );
    }
    return secret;
  }
  if (!boolOr(env.ENGINE_NO_SECRET, false)) {
    throw new Error('ENGINE_SECRET is required (e.g. `openssl rand -hex 24`), or ENGINE_NO_SECRET=true on loopback');
  }
  if (!isLoopback(host)) throw new Error(`ENGINE_NO_SECRET=true is refused on a non-loopback ENGINE_HOST (${host})`);
  return undefined;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function boolOr(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value.trim() === '') return fallback;
  if (/^(true|1|yes)$/i.test(value.trim())) return true;
  if (/^(false|0|no)$/i.test(value.trim())) return false;
  throw new Error(`invalid engine setting: ${value}`);
}

function intOr(value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`invalid engine setting: ${value}`);
  return n;
}

function listOr(value: string | undefined, fallback: string[]): string[] {
  if (value === undefined) return fallback;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * onair's configuration: environment variables, validated once at start-up.
 * An empty variable counts as unset. A bad value throws a ConfigError naming the variable.
 *
 * | Variable             | Default                     | Meaning                                                        |
 * |----------------------|-----------------------------|----------------------------------------------------------------|
 * | PORT                 | 8080                        | HTTP port (0 = any free port)                                  |
 * | HOST                 | all interfaces              | address the HTTP server binds to                               |
 * | PUBLIC_URL           | http://localhost:PORT       | the URL users reach onair at (links, cookies, security headers)|
 * | DATABASE_URL         | sqlite:data/onair.sqlite    | `sqlite:<file>`, `sqlite::memory:`, or `mysql://user:pass@host:port/db` (MySQL/MariaDB) |
 * | REDIS_URL            | unset = in-process store    | `redis://` or `rediss://`: shared state for several API processes |
 * | STORE_PREFIX         | onair:                      | prefix of every key and channel in the store                   |
 * | KMS_URI              | unset = embedded engine     | `ws://` or `wss://` URI of a Kurento Media Server              |
 * | KMS_URIS             | unset                       | comma list of media-server URIs (a pool; not with KMS_URI)     |
 * | ENGINE_INSTANCES     | 1                           | embedded engines started by the API (without KMS_URI(S))       |
 * | MEDIA_SERVER_CAPACITY | unset = no limit           | endpoints one media server takes; a comma list: per server, in order |
 * | RECORDINGS_DIR       | recordings                  | folder of the recordings (made absolute)                       |
 * | TURN_URLS            | unset                       | comma list of `turn:`, `turns:` or `stun:` URLs handed to browsers |
 * | TURN_SECRET          | unset                       | coturn `static-auth-secret` for time-limited credentials (with TURN_URLS) |
 * | LOG_LEVEL            | info                        | fatal, error, warn, info, debug, trace or silent               |
 * | TOKEN_TTL            | 6h                          | session lifetime: seconds, or a number with ms, s, m, h or d   |
 * | SIGNING_SECRET       | random per start (warning)  | secret for signed media URLs, at least 16 characters           |
 * | CALL_RING_TIMEOUT_MS | 30000                       | how long a call rings before it is missed                      |
 * | RECORD_CALLS         | false                       | record calls as well as broadcasts                             |
 * | ENGINE_WORKERS       | unset = engine default      | worker processes of the embedded media engine                  |
 * | AUTH_RATE_LIMIT      | 30                          | requests per minute per client address on /api/auth/*          |
 * | TRUST_PROXY          | false                       | express `trust proxy`: false, true, or a number of proxy hops  |
 * | SOCKETS_PER_ACCOUNT  | 20                          | socket.io connections one account may hold (all processes)     |
 * | SOCKETS_PER_ADDRESS  | 200                         | socket.io connections one client address may hold              |
 * | ACCOUNT_EVENTS_PER_SECOND | 100                    | socket.io events per second per account, over all its sockets  |
 * | METRICS_TOKEN        | unset = /metrics off        | bearer token that `GET /metrics` requires (at least 16 chars)  |
 * | LOGIN_FAILURE_LIMIT  | 5                           | failed logins per account and address per LOGIN_FAILURE_WINDOW |
 * | LOGIN_ACCOUNT_FAILURE_LIMIT | 50                   | failed logins per account from unknown addresses per window    |
 * | LOGIN_FAILURE_WINDOW | 15m                         | window of the failed-login counts (a duration)                 |
 * | VIDEO_MIN_KBPS       | 300                         | lowest video bitrate the media server sends to a viewer (kbps) |
 * | VIDEO_MAX_KBPS       | 2500                        | highest video bitrate taken from a presenter and sent to a viewer (kbps) |
 * | MEDIA_RECONCILE_MS   | 30000                       | how often lives are checked against the media server (ghosts, orphan pipelines) |
 * | RESUME_GRACE_MS      | 10000                       | how long a live or call waits for a dropped connection to resume (0 = end at once) |
 * | WHIP_IDLE_MS         | 20000                       | a WHIP encoder that sends no media this long has its live ended (0 = never) |
 * | INSTANCE_TTL_MS      | 15000                       | an API process silent this long is dead and taken over (heart-beat: a third of it) |
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';

/** How long a stopping server (SIGTERM, SIGINT) may take before it exits anyway; a supervisor's grace must be longer. */
export const SHUTDOWN_TIMEOUT_MS = 15_000;

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  port: number;
  host: string | null;
  /** No trailing slash. */
  publicUrl: string;
  /** True when PUBLIC_URL was not given and was derived from PORT (the server fixes it once the port is known). */
  publicUrlFromPort: boolean;
  databaseUrl: string;
  redisUrl: string | null;
  storePrefix: string;
  /** The first media server's URI (KMS_URI, or the first of KMS_URIS); null: embedded engines. */
  kmsUri: string | null;
  /** Every media server's URI (KMS_URIS, or [KMS_URI]); empty: embedded engines. */
  kmsUris: string[];
  /** Embedded engines to start when no KMS URI is given. */
  engineInstances: number;
  /** Capacity in endpoints of each media server, by position (the last one applies to the rest); null: no limit. */
  mediaServerCapacity: number[] | null;
  /** Absolute path. */
  recordingsDir: string;
  turn: { urls: string[]; secret: string } | null;
  logLevel: LogLevel;
  tokenTtlMs: number;
  signingSecret: string;
  /** True when SIGNING_SECRET was not given: signed URLs do not survive a restart (logged as a warning). */
  signingSecretGenerated: boolean;
  callRingTimeoutMs: number;
  recordCalls: boolean;
  engineWorkers: number | null;
  authRateLimit: number;
  trustProxy: boolean | number;
  socketsPerAccount: number;
  socketsPerAddress: number;
  accountEventsPerSecond: number;
  /** Bearer token of `GET /metrics`; null: /metrics is not served. */
  metricsToken: string | null;
  loginFailureLimit: number;
  loginAccountFailureLimit: number;
  loginFailureWindowMs: number;
  /** Video bitrate bounds of the media server's endpoints, in kbps (min ≤ max). */
  videoBandwidth: { minKbps: number; maxKbps: number };
  mediaReconcileMs: number;
  /** How long a presenter's live (or a side of a call) waits for its dropped connection to resume; 0: ends at once. */
  resumeGraceMs: number;
  /** An API process whose heart-beat is this old is dead: the others take over its viewers and lives. */
  instanceTtlMs: number;
  /** A WHIP live whose encoder sends no media this long ends (the encoder vanished without DELETE); 0: never. */
  whipIdleMs: number;
}

/** A configuration error: the message names the variable(s) at fault. */
export class ConfigError extends Error {
  readonly variables: string[];
  constructor(variables: string[], message: string) {
    super(message);
    this.name = 'ConfigError';
    this.variables = variables;
  }
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `90`, `90s`, `15m`, `6h`, `7d`, `500ms` into milliseconds (a bare number is seconds). */
export function parseDuration(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) return null;
  const ms = Number(match[1]) * DURATION_UNITS[match[2] ?? 's']!;
  return Number.isFinite(ms) ? Math.round(ms) : null;
}

const integer = (min: number, max: number) =>
  z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(min).max(max));

const boolean = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off']))
  .transform((s) => ['true', '1', 'yes', 'on'].includes(s));

const urlWithScheme = (schemes: string[]) =>
  z.string().refine(
    (s) => {
      try {
        const url = new URL(s);
        return schemes.includes(url.protocol) && (url.protocol === 'sqlite:' || url.host !== '');
      } catch {
        return false;
      }
    },
    `must be a ${schemes.map((s) => s.replace(/:$/, '://')).join(' or ')} URL`,
  );

const schema = z
  .object({
    PORT: integer(0, 65535).default('8080'),
    HOST: z
      .string()
      .regex(/^[A-Za-z0-9.:[\]-]+$/, 'must be a host name or an IP address')
      .optional(),
    PUBLIC_URL: urlWithScheme(['http:', 'https:']).optional(),
    DATABASE_URL: z
      .string()
      .refine(
        (s) => /^sqlite:.+/.test(s) || /^(mysql|mariadb):\/\/[^/]+\/[A-Za-z0-9_$-]+(\?.*)?$/.test(s),
        'must be sqlite:<file>, sqlite::memory: or mysql://user:password@host:port/database',
      )
      .default('sqlite:data/onair.sqlite'),
    REDIS_URL: urlWithScheme(['redis:', 'rediss:']).optional(),
    STORE_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'must be 1..64 of A-Z a-z 0-9 : _ . -')
      .default('onair:'),
    KMS_URI: urlWithScheme(['ws:', 'wss:']).optional(),
    KMS_URIS: z
      .string()
      .transform((s) =>
        s
          .split(',')
          .map((u) => u.trim())
          .filter(Boolean),
      )
      .pipe(z.array(urlWithScheme(['ws:', 'wss:'])).min(1, 'must list at least one ws:// or wss:// URL'))
      .refine((uris) => new Set(uris).size === uris.length, 'must not list a URI twice')
      .optional(),
    ENGINE_INSTANCES: integer(1, 64).default('1'),
    MEDIA_SERVER_CAPACITY: z
      .string()
      .transform((s) => s.split(',').map((c) => c.trim()))
      .refine(
        (list) => list.every((c) => /^\d+$/.test(c) && Number(c) >= 1),
        'must be a whole number ≥ 1, or a comma list of them',
      )
      .transform((list) => list.map(Number))
      .optional(),
    RECORDINGS_DIR: z.string().default('recordings'),
    TURN_URLS: z
      .string()
      .transform((s) =>
        s
          .split(',')
          .map((u) => u.trim())
          .filter(Boolean),
      )
      .refine(
        (urls) => urls.length > 0 && urls.every((u) => /^(turns?|stuns?):[^\s]+$/.test(u)),
        'must be a comma list of turn:, turns: or stun: URLs',
      )
      .optional(),
    // coturn's image entrypoint runs `eval "echo $arg"` on each argument, so `$`, quotes, spaces or `;` in the
    // secret would be mangled there (and every credential refused): such a secret is refused here instead.
    TURN_SECRET: z
      .string()
      .regex(
        /^[A-Za-z0-9._~+/=-]{16,}$/,
        "must be at least 16 characters of A-Z a-z 0-9 . _ ~ + / = - (coturn's entrypoint would mangle $, quotes, spaces or ;): generate one with `openssl rand -hex 32`",
      )
      .optional(),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        errorMap: () => ({ message: 'must be fatal, error, warn, info, debug, trace or silent' }),
      })
      .default('info'),
    TOKEN_TTL: z
      .string()
      .transform((s, ctx) => {
        const ms = parseDuration(s);
        if (ms === null || ms < 1000 || ms > 366 * DURATION_UNITS.d!) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            message: 'must be a duration from 1s to 366d (e.g. 3600, 30m, 6h, 7d)',
          });
          return z.NEVER;
        }
        return ms;
      })
      .default('6h'),
    SIGNING_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
    CALL_RING_TIMEOUT_MS: integer(100, 600_000).default('30000'),
    RESUME_GRACE_MS: integer(0, 600_000).default('10000'),
    WHIP_IDLE_MS: integer(0, 3_600_000).default('20000'),
    RECORD_CALLS: boolean.default('false'),
    ENGINE_WORKERS: integer(1, 256).optional(),
    AUTH_RATE_LIMIT: integer(1, 1_000_000).default('30'),
    TRUST_PROXY: z
      .string()
      .transform((s, ctx) => {
        const v = s.trim().toLowerCase();
        if (v === 'true' || v === 'false') return v === 'true';
        if (/^\d{1,2}$/.test(v)) return Number(v);
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be true, false or a number of proxy hops' });
        return z.NEVER;
      })
      .default('false'),
    SOCKETS_PER_ACCOUNT: integer(1, 100_000).default('20'),
    SOCKETS_PER_ADDRESS: integer(1, 1_000_000).default('200'),
    ACCOUNT_EVENTS_PER_SECOND: integer(1, 1_000_000).default('100'),
    METRICS_TOKEN: z
      .string()
      .regex(/^[\x21-\x7e]{16,256}$/, 'must be 16 to 256 printable characters without spaces')
      .optional(),
    LOGIN_FAILURE_LIMIT: integer(1, 1_000_000).default('5'),
    LOGIN_ACCOUNT_FAILURE_LIMIT: integer(1, 1_000_000).default('50'),
    LOGIN_FAILURE_WINDOW: z
      .string()
      .transform((s, ctx) => {
        const ms = parseDuration(s);
        if (ms === null || ms < 1000 || ms > DURATION_UNITS.d!) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be a duration from 1s to 1d (e.g. 15m)' });
          return z.NEVER;
        }
        return ms;
      })
      .default('15m'),
    VIDEO_MIN_KBPS: integer(0, 100_000).default('300'),
    VIDEO_MAX_KBPS: integer(30, 100_000).default('2500'),
    MEDIA_RECONCILE_MS: integer(500, 3_600_000).default('30000'),
    INSTANCE_TTL_MS: integer(300, 600_000).default('15000'),
  })
  .superRefine((env, ctx) => {
    if (env.VIDEO_MIN_KBPS > env.VIDEO_MAX_KBPS) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['VIDEO_MIN_KBPS'],
        message: `must not be above VIDEO_MAX_KBPS (${env.VIDEO_MAX_KBPS})`,
      });
    }
    if (env.KMS_URI !== undefined && env.KMS_URIS !== undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['KMS_URIS'],
        message: 'KMS_URI and KMS_URIS do not go together: list every media server in KMS_URIS',
      });
    }
    if (env.ENGINE_INSTANCES !== 1 && (env.KMS_URI !== undefined || env.KMS_URIS !== undefined)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['ENGINE_INSTANCES'],
        message: 'applies to the embedded engine only: not with KMS_URI or KMS_URIS',
      });
    }
    if ((env.TURN_URLS === undefined) !== (env.TURN_SECRET === undefined)) {
      const missing = env.TURN_URLS === undefined ? 'TURN_URLS' : 'TURN_SECRET';
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: [missing],
        message: 'TURN_URLS and TURN_SECRET go together: set both or neither',
      });
    }
  });

/** Reads and validates the configuration; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.innerType().shape)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') input[key] = value.trim();
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({
      variable: String(i.path[0] ?? 'environment'),
      message: i.message,
    }));
    const variables = [...new Set(issues.map((i) => i.variable))];
    throw new ConfigError(
      variables,
      `Invalid configuration: ${issues.map((i) => `${i.variable} ${i.message}`).join('; ')}`,
    );
  }
  const e = parsed.data;
  const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  return {
    port: e.PORT,
    host: e.HOST ?? null,
    publicUrl,
    publicUrlFromPort: e.PUBLIC_URL === undefined,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL ?? null,
    storePrefix: e.STORE_PREFIX,
    kmsUri: e.KMS_URI ?? e.KMS_URIS?.[0] ?? null,
    kmsUris: e.KMS_URIS ?? (e.KMS_URI ? [e.KMS_URI] : []),
    engineInstances: e.ENGINE_INSTANCES,
    mediaServerCapacity: e.MEDIA_SERVER_CAPACITY ?? null,
    recordingsDir: path.resolve(cwd, e.RECORDINGS_DIR),
    turn: e.TURN_URLS && e.TURN_SECRET ? { urls: e.TURN_URLS, secret: e.TURN_SECRET } : null,
    logLevel: e.LOG_LEVEL,
    tokenTtlMs: e.TOKEN_TTL,
    signingSecret: e.SIGNING_SECRET ?? randomBytes(32).toString('base64url'),
    signingSecretGenerated: e.SIGNING_SECRET === undefined,
    callRingTimeoutMs: e.CALL_RING_TIMEOUT_MS,
    recordCalls: e.RECORD_CALLS,
    engineWorkers: e.ENGINE_WORKERS ?? null,
    authRateLimit: e.AUTH_RATE_LIMIT,
    trustProxy: e.TRUST_PROXY,
    socketsPerAccount: e.SOCKETS_PER_ACCOUNT,
    socketsPerAddress: e.SOCKETS_PER_ADDRESS,
    accountEventsPerSecond: e.ACCOUNT_EVENTS_PER_SECOND,
    metricsToken: e.METRICS_TOKEN ?? null,
    loginFailureLimit: e.LOGIN_FAILURE_LIMIT,
    loginAccountFailureLimit: e.LOGIN_ACCOUNT_FAILURE_LIMIT,
    loginFailureWindowMs: e.LOGIN_FAILURE_WINDOW,
    videoBandwidth: { minKbps: e.VIDEO_MIN_KBPS, maxKbps: e.VIDEO_MAX_KBPS },
    mediaReconcileMs: e.MEDIA_RECONCILE_MS,
    resumeGraceMs: e.RESUME_GRACE_MS,
    whipIdleMs: e.WHIP_IDLE_MS,
    instanceTtlMs: e.INSTANCE_TTL_MS,
  };
}

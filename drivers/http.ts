/**
 * A small HTTP client for API tests: JSON in and out, an optional bearer token, and the raw answer
 * (status, headers, parsed body) so tests can assert on every part. Never throws on an HTTP error status.
 */
import { randomBytes } from 'node:crypto';
import type { AuthResponse, PublicUser } from '../api/contract/rest.js';

export interface HttpAnswer<T = any> {
  status: number;
  headers: Headers;
  /** Parsed JSON when the answer is JSON, else the text. */
  body: T;
  text: string;
}

export interface RequestOptions {
  /** JSON body (serialised). */
  body?: unknown;
  /** A body sent as is (e.g. malformed JSON), with `contentType` (default application/json). */
  raw?: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
  /** Overrides the client's token; null sends none. */
  token?: string | null;
}

export class HttpClient {
  constructor(
    readonly baseUrl: string,
    readonly token: string | null = null,
  ) {}

  /** The same client, authenticated with `token`. */
  withToken(token: string | null): HttpClient {
    return new HttpClient(this.baseUrl, token);
  }

  get<T = any>(path: string, options: RequestOptions = {}): Promise<HttpAnswer<T>> {
    return this.request<T>('GET', path, options);
  }

  post<T = any>(path: string, body?: unknown, options: RequestOptions = {}): Promise<HttpAnswer<T>> {
    return this.request<T>('POST', path, { ...options, ...(body !== undefined ? { body } : {}) });
  }

  delete<T = any>(path: string, options: RequestOptions = {}): Promise<HttpAnswer<T>> {
    return this.request<T>('DELETE', path, options);
  }

  async request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<HttpAnswer<T>> {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? this.token : options.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | Blob | undefined;
    if (options.raw !== undefined) {
      body = typeof options.raw === 'string' ? options.raw : new Blob([new Uint8Array(options.raw)]);
      headers['content-type'] = options.contentType ?? 'application/json';
    } else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = options.contentType ?? 'application/json';
    }
    const response = await fetch(new URL(path, this.baseUrl), { method, headers, body });
    const text = await response.text();
    const json = (response.headers.get('content-type') ?? '').includes('json');
    return {
      status: response.status,
      headers: response.headers,
      body: (json && text ? JSON.parse(text) : text) as T,
      text,
    };
  }
}

export function http(baseUrl: string, token: string | null = null): HttpClient {
  return new HttpClient(baseUrl, token);
}

/** A nickname that is valid and unique per call. */
export function uniqueNickname(prefix = 'user'): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

export const TEST_PASSWORD = 'correct horse 42';

export interface SignedInUser {
  user: PublicUser;
  token: string;
  nickname: string;
  password: string;
  /** A client with this user's token. */
  client: HttpClient;
}

/** Registers a fresh user (asserting success) and returns it signed in. */
export async function registerUser(
  baseUrl: string,
  nickname = uniqueNickname(),
  password = TEST_PASSWORD,
): Promise<SignedInUser> {
  const answer = await http(baseUrl).post<AuthResponse>('/api/auth/register', { nickname, password });
  if (answer.status !== 201) throw new Error(`registering ${nickname} failed: ${answer.status} ${answer.text}`);
  return {
    user: answer.body.user,
    token: answer.body.token,
    nickname,
    password,
    client: http(baseUrl, answer.body.token),
  };
}

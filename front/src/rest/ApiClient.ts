import { ApiError } from './ApiError.js';

/** What the client needs from the signed-in session: the token to send, and a way to end it. */
export interface ApiSession {
  readonly token: string | null;
  /** Called when an authenticated call answers 401: the session is over (expired or revoked). */
  expire(error: ApiError): void;
}

export interface RequestOptions {
  /** JSON body. */
  body?: unknown;
  /** Query string parameters; undefined values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  /** Send the session token (default true when there is one). */
  auth?: boolean;
  /** Send this token instead of the session's (a 401 then leaves the session alone). */
  token?: string;
  /** Let the request outlive the page (e.g. logging out while the tab closes). */
  keepalive?: boolean;
  signal?: AbortSignal;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * The fetch wrapper every page uses: JSON in and out, bearer token, and one error type (`ApiError`).
 * A 401 on a call that carried the token ends the session (`ApiSession.expire`).
 */
export class ApiClient {
  #session: ApiSession | null = null;

  constructor(private readonly baseUrl = '') {}

  /** Connects the client to the session store (done once at start). */
  bindSession(session: ApiSession): void {
    this.#session = session;
  }

  get<T>(path: string, options: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return this.request<T>('GET', path, options);
  }

  post<T>(path: string, body?: unknown, options: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return this.request<T>('POST', path, { ...options, body });
  }

  put<T>(path: string, body?: unknown, options: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return this.request<T>('PUT', path, { ...options, body });
  }

  patch<T>(path: string, body?: unknown, options: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return this.request<T>('PATCH', path, { ...options, body });
  }

  delete<T>(path: string, options: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return this.request<T>('DELETE', path, options);
  }

  async request<T>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
    const token = options.auth === false ? null : (options.token ?? this.#session?.token ?? null);
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = `Bearer ${token}`;

    let response: Response;
    try {
      response = await fetch(this.url(path, options.query), {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
        keepalive: options.keepalive,
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw ApiError.unreachable();
    }

    const body = await readBody(response);
    if (response.ok) return body as T;

    const error = ApiError.fromResponse(response.status, body);
    // Only the session that sent the request can be ended by its answer (not one signed in since).
    if (response.status === 401 && token && token === this.#session?.token) this.#session.expire(error);
    throw error;
  }

  private url(path: string, query: RequestOptions['query']): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) params.set(key, String(value));
    }
    const search = params.toString();
    return `${this.baseUrl}${path}${search ? `?${search}` : ''}`;
  }
}

async function readBody(response: Response): Promise<unknown> {
  if (response.status === 204) return undefined;
  const text = await response.text().catch(() => '');
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

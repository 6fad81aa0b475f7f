/**
 * The load generator of bench:api, in a worker thread: it sends the GET requests it is given, `concurrency` at a
 * time, and answers each one's latency and status. In a thread of its own, the client's work does not queue behind
 * the server's on one event loop; a browser's would not. It sends with node:http over `concurrency` kept-alive
 * sockets (undici's fetch costs about as much CPU as the server's answer, and the client shares the server's cores;
 * `http: 'fetch'` uses fetch).
 */
import http from 'node:http';
import { parentPort } from 'node:worker_threads';

export interface ClientJob {
  requests: Array<{ url: string; token: string | null }>;
  concurrency: number;
  http?: 'node' | 'fetch';
}

export interface ClientResult {
  ms: number[];
  status: number[];
  seconds: number;
}

let kept: http.Agent | null = null;

/** One GET through node:http, its body read to the end; resolves its status. */
function get(url: string, token: string | null, concurrency: number): Promise<number> {
  const agent = (kept ??= new http.Agent({ keepAlive: true, maxSockets: concurrency }));
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

async function viaFetch(url: string, token: string | null): Promise<number> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  await res.arrayBuffer();
  return res.status;
}

async function run(job: ClientJob): Promise<void> {
  const ms = new Array<number>(job.requests.length);
  const status = new Array<number>(job.requests.length);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (next < job.requests.length) {
        const i = next++;
        const { url, token } = job.requests[i]!;
        const start = performance.now();
        status[i] = job.http === 'fetch' ? await viaFetch(url, token) : await get(url, token, job.concurrency);
        ms[i] = performance.now() - start;
      }
    }),
  );
  parentPort!.postMessage({ ms, status, seconds: (performance.now() - t0) / 1000 } satisfies ClientResult);
}

parentPort!.on('message', (job: ClientJob) => void run(job));

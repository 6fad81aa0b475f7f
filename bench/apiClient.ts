/**
 * The load generator of bench:api, in a worker thread: it sends the GET requests it is given, `concurrency` at a
 * time, and answers each one's latency and status. In a thread of its own, the client's work (undici's fetch costs
 * about as much as the server's answer) does not queue behind the server's on one event loop; a browser's would not.
 */
import { parentPort } from 'node:worker_threads';

export interface ClientJob {
  requests: Array<{ url: string; token: string | null }>;
  concurrency: number;
}

export interface ClientResult {
  ms: number[];
  status: number[];
  seconds: number;
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
        const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
        await res.arrayBuffer();
        ms[i] = performance.now() - start;
        status[i] = res.status;
      }
    }),
  );
  parentPort!.postMessage({ ms, status, seconds: (performance.now() - t0) / 1000 } satisfies ClientResult);
}

parentPort!.on('message', (job: ClientJob) => void run(job));

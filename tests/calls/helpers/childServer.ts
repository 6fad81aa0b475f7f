/** Start `apiProcess.ts` as a child process on a test server's shared resources; `kill()` is a crash (SIGKILL). */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestServer } from '../../support/server.js';

export interface ChildServer {
  url: string;
  /** Its cluster instance id. */
  instanceId: string;
  /** SIGKILL, resolved once the process is gone. Idempotent. */
  kill(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('./apiProcess.ts', import.meta.url));

/** `env` adds to the shared resources (e.g. KMS_URI and ONAIR_TEST_MEDIA=1 for a process with media). */
export async function startChildServer(
  shareWith: TestServer,
  presenceMs: number,
  env: Record<string, string> = {},
): Promise<ChildServer> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', SCRIPT], {
    env: { ...process.env, ...shareWith.env, ONAIR_TEST_PRESENCE_MS: String(presenceMs), ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  try {
    const { url, instanceId } = await new Promise<{ url: string; instanceId: string }>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve(JSON.parse(line) as { url: string; instanceId: string });
      });
      child.once('exit', (code) => reject(new Error(`the API process exited (${code}) before listening`)));
    });
    return { url, instanceId, kill };
  } catch (error) {
    await kill();
    throw error;
  }
}

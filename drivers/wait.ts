/** Waiting on conditions in tests: generous deadlines, never a fixed sleep as an assertion. */
import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `condition` until it returns a truthy value (resolved), or rejects after `timeoutMs` naming `what`. */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  what = 'condition',
  { timeoutMs = 15_000, intervalMs = 25 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export { sleep };

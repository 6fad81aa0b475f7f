/**
 * What must be confirmed before logging out: a page that holds something logging out would end (the live on the
 * Go live page) registers a guard; the user menu asks each one before logging out.
 */
type Guard = () => Promise<boolean>;

const guards = new Set<Guard>();

/** Adds a guard (resolves false to stay signed in); returns the function that removes it. */
export function guardLogout(guard: Guard): () => void {
  guards.add(guard);
  return () => guards.delete(guard);
}

/** True when every guard agrees to log out. */
export async function confirmLogout(): Promise<boolean> {
  for (const guard of [...guards]) if (!(await guard())) return false;
  return true;
}

/**
 * Where a recording's files live. Names come from database rows (built by the server from ids), never from a
 * request; they are still resolved inside RECORDINGS_DIR and checked to stay there, symbolic links included.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';

/** True when `full` is `root` itself or below it (both absolute and normalised). */
function isBelow(root: string, full: string): boolean {
  const rel = path.relative(root, full);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/** The absolute path of `relative` inside `dir`, or null when it is empty, absolute, or would leave `dir`. */
export function resolveInside(dir: string, relative: string): string | null {
  if (typeof relative !== 'string' || relative === '' || relative.includes('\0') || path.isAbsolute(relative)) return null;
  const root = path.resolve(dir);
  const full = path.resolve(root, relative);
  return isBelow(root, full) ? full : null;
}

/**
 * Like `resolveInside`, then follows symbolic links: null unless the real file is inside the real `dir`.
 * Resolves null for a file that does not exist.
 */
export async function realPathInside(dir: string, relative: string): Promise<string | null> {
  const full = resolveInside(dir, relative);
  if (!full) return null;
  try {
    const [realRoot, realFull] = await Promise.all([realpath(dir), realpath(full)]);
    return isBelow(realRoot, realFull) ? realFull : null;
  } catch {
    return null;
  }
}

/** The poster's name for a recording file: same folder and base name, `.jpg`. */
export function posterNameFor(fileName: string): string {
  return `${fileName.replace(/\.[^./\\]+$/, '')}.jpg`;
}

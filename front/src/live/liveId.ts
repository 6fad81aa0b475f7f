/**
 * What "watch by live ID" accepts: a live's id (12 characters of a-z and 0-9, as api/db/ids.ts makes them; case does
 * not matter) or any link or path holding `/live/<id>` (a watch link pasted from anywhere).
 */
const ID = /^[a-z0-9]{12}$/;
const IN_LINK = /\/live\/([a-z0-9]{12})(?:[/?#]|$)/;

/** The live id in what was typed or pasted, or null when there is none. */
export function parseLiveId(input: string): string | null {
  const text = input.trim().toLowerCase();
  if (ID.test(text)) return text;
  return IN_LINK.exec(text)?.[1] ?? null;
}

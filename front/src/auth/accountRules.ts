/**
 * The server's account rules (api/auth/rules.ts, limits from api/contract/rest.ts), worded for the forms so they
 * can say what is wrong before sending. The server stays the judge: its answer is shown when it disagrees.
 */
import {
  NICKNAME_MAX,
  NICKNAME_MIN,
  NICKNAME_PATTERN,
  PASSWORD_MAX,
  PASSWORD_MIN,
} from '../../../api/contract/rest.js';

/** From this length on a password needs no letter-and-digit mix (as on the server). */
export const PASSPHRASE_MIN = 16;

export { PASSWORD_MIN };

/** Why a nickname is refused, or null when it is fine. */
export function nicknameProblem(nickname: string): string | null {
  if (!nickname) return 'Choose a nickname.';
  if (nickname.length < NICKNAME_MIN || nickname.length > NICKNAME_MAX)
    return `A nickname has ${NICKNAME_MIN} to ${NICKNAME_MAX} characters.`;
  if (!NICKNAME_PATTERN.test(nickname)) return 'Use letters, digits, dots, dashes and underscores only.';
  return null;
}

/** Why a new password is refused, or null when it is fine. */
export function passwordProblem(password: string, nickname: string): string | null {
  const chars = [...password];
  if (chars.length === 0) return 'Choose a password.';
  if (chars.length < PASSWORD_MIN) return `Use at least ${PASSWORD_MIN} characters.`;
  if (chars.length > PASSWORD_MAX) return `Use at most ${PASSWORD_MAX} characters.`;
  if (new Set(chars).size < 4) return 'Use at least 4 different characters.';
  if (chars.length < PASSPHRASE_MIN && (!/\p{L}/u.test(password) || !/\p{N}/u.test(password))) {
    return `Mix letters and digits, or use at least ${PASSPHRASE_MIN} characters.`;
  }
  if (nickname && password.toLowerCase().includes(nickname.toLowerCase()))
    return 'The password must not contain your nickname.';
  return null;
}

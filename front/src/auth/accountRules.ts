/**
 * The account rules of the server (api/contract/rest.ts), worded for the forms so they can say what is wrong
 * before sending. The server stays the judge: its answer is shown when it disagrees.
 */
import { NICKNAME_MAX, NICKNAME_MIN, NICKNAME_PATTERN, PASSWORD_MAX, PASSWORD_MIN } from '../../../api/contract/rest.js';

export { PASSWORD_MIN };

/** Why a nickname is refused, or null when it is fine. */
export function nicknameProblem(nickname: string): string | null {
  if (!nickname) return 'Enter a nickname.';
  if (nickname.length < NICKNAME_MIN || nickname.length > NICKNAME_MAX) return `A nickname has ${NICKNAME_MIN} to ${NICKNAME_MAX} characters.`;
  if (!NICKNAME_PATTERN.test(nickname)) return 'Use letters, digits, dots, dashes and underscores only.';
  return null;
}

/** Why a new password is refused, or null when it is fine. */
export function passwordProblem(password: string): string | null {
  if (!password) return 'Enter a password.';
  if (password.length < PASSWORD_MIN) return `Use at least ${PASSWORD_MIN} characters.`;
  if (password.length > PASSWORD_MAX) return `Use at most ${PASSWORD_MAX} characters.`;
  return null;
}

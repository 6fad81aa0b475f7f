/**
 * Account rules. Nicknames: 3..32 of A-Z a-z 0-9 _ . - (unique regardless of case). Passwords: 8..128 characters,
 * at least 4 different ones, not containing the nickname; below 16 characters they also need a letter and a digit
 * (long passphrases such as "correct horse battery" need no particular characters: length is what counts).
 */
import { NICKNAME_MAX, NICKNAME_MIN, NICKNAME_PATTERN, PASSWORD_MAX, PASSWORD_MIN } from '../contract/rest.js';

/** From this length on, a password needs no letter-and-digit mix. */
export const PASSPHRASE_MIN = 16;

/** Why a nickname is refused, or null. */
export function nicknameProblem(nickname: string): string | null {
  if (nickname.length < NICKNAME_MIN || nickname.length > NICKNAME_MAX) {
    return `a nickname has ${NICKNAME_MIN} to ${NICKNAME_MAX} characters`;
  }
  if (!NICKNAME_PATTERN.test(nickname)) return 'a nickname uses letters, digits, dots, dashes and underscores only';
  return null;
}

/** The unique form of a nickname. */
export function nicknameKey(nickname: string): string {
  return nickname.toLowerCase();
}

/** Why a new password is too weak, or null. */
export function passwordProblem(password: string, nickname: string): string | null {
  const chars = [...password];
  if (chars.length < PASSWORD_MIN) return `a password has at least ${PASSWORD_MIN} characters`;
  if (chars.length > PASSWORD_MAX) return `a password has at most ${PASSWORD_MAX} characters`;
  if (new Set(chars).size < 4) return 'a password uses at least 4 different characters';
  if (chars.length < PASSPHRASE_MIN && (!/\p{L}/u.test(password) || !/\p{N}/u.test(password))) {
    return `a password shorter than ${PASSPHRASE_MIN} characters contains at least one letter and one digit`;
  }
  if (password.toLowerCase().includes(nickname.toLowerCase())) return 'a password must not contain the nickname';
  return null;
}

/**
 * The server's account rules (api/auth/rules.ts, limits from api/contract/rest.ts), worded for the forms (in the chosen language) so they
 * can say what is wrong before sending. The server stays the judge: its answer is shown when it disagrees.
 */
import {
  NICKNAME_MAX,
  NICKNAME_MIN,
  NICKNAME_PATTERN,
  PASSWORD_MAX,
  PASSWORD_MIN,
} from '../../../api/contract/rest.js';
import { t } from '../i18n/index.js';

/** From this length on a password needs no letter-and-digit mix (as on the server). */
export const PASSPHRASE_MIN = 16;

export { PASSWORD_MIN };

/** Why a nickname is refused, or null when it is fine. */
export function nicknameProblem(nickname: string): string | null {
  if (!nickname) return t('rules.chooseNickname');
  if (nickname.length < NICKNAME_MIN || nickname.length > NICKNAME_MAX)
    return t('rules.nicknameLength', { min: NICKNAME_MIN, max: NICKNAME_MAX });
  if (!NICKNAME_PATTERN.test(nickname)) return t('rules.nicknameChars');
  return null;
}

/** Why a new password is refused, or null when it is fine. */
export function passwordProblem(password: string, nickname: string): string | null {
  const chars = [...password];
  if (chars.length === 0) return t('rules.choosePassword');
  if (chars.length < PASSWORD_MIN) return t('rules.passwordMin', { min: PASSWORD_MIN });
  if (chars.length > PASSWORD_MAX) return t('rules.passwordMax', { max: PASSWORD_MAX });
  if (new Set(chars).size < 4) return t('rules.passwordDistinct');
  if (chars.length < PASSPHRASE_MIN && (!/\p{L}/u.test(password) || !/\p{N}/u.test(password))) {
    return t('rules.passwordMix', { min: PASSPHRASE_MIN });
  }
  if (nickname && password.toLowerCase().includes(nickname.toLowerCase())) return t('rules.passwordNickname');
  return null;
}

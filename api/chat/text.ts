/** What a chat message may contain: plain text, normalised, without the characters that spoof or break a line. */
import { CHAT_MAX_CHARS } from '../contract/chat.js';
import { OnairError } from '../contract/errors.js';

// C0 and C1 controls except the line feed, and the bidirectional overrides and isolates (they reorder what
// follows them on screen: a classic way to disguise a link).
// eslint-disable-next-line no-control-regex
const UNWANTED = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** The text to store and show; `request.invalid` when nothing is left, `chat.tooLong` over the limit. */
export function chatText(raw: string): string {
  const text = raw
    .normalize('NFC')
    .replace(/\r\n?/g, '\n')
    .replace(/\t/g, ' ')
    .replace(UNWANTED, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  if (text === '') throw new OnairError('request.invalid', 'chat:send: the message is empty');
  const length = [...text].length;
  if (length > CHAT_MAX_CHARS)
    throw new OnairError('chat.tooLong', `a message is at most ${CHAT_MAX_CHARS} characters (this one has ${length})`);
  return text;
}

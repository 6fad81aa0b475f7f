/**
 * Public ids of lives and calls: short, random, lowercase (case-insensitive collations compare them the same way
 * on MySQL and SQLite), safe in URLs and file names.
 */
import { randomInt } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
export const PUBLIC_ID_LENGTH = 12;
export const PUBLIC_ID_PATTERN = /^[a-z0-9]{12}$/;

/** 12 characters from [a-z0-9]: about 62 bits of randomness. */
export function newPublicId(): string {
  let id = '';
  for (let i = 0; i < PUBLIC_ID_LENGTH; i++) id += ALPHABET[randomInt(ALPHABET.length)];
  return id;
}

export function isPublicId(value: unknown): value is string {
  return typeof value === 'string' && PUBLIC_ID_PATTERN.test(value);
}

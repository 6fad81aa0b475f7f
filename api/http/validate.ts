/**
 * Input validation with zod: every param, query and body goes through a schema before a handler uses it.
 * A mismatch is a 400 `request.invalid` naming the first problem (never an echo of the input).
 */
import type { z, ZodTypeAny } from 'zod';
import { OnairError } from '../contract/errors.js';

/** Parses `value` with `schema`, or throws `request.invalid` saying where (e.g. `body.nickname: Required`). */
export function parse<S extends ZodTypeAny>(
  schema: S,
  value: unknown,
  where: 'body' | 'query' | 'params',
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data as z.output<S>;
  const issue = result.error.issues[0]!;
  const at = [where, ...issue.path].join('.');
  throw new OnairError('request.invalid', `${at}: ${issue.message}`);
}

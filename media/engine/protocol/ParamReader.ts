/**
 * Typed access to a request's params. Every getter throws a KurentoError (MARSHALL_ERROR, as KMS's
 * generated serializers do) naming the parameter, so handlers stay free of type checks.
 */
import { isPlainObject, type Params } from './JsonRpc.js';
import { KurentoError } from './KurentoError.js';

export class ParamReader {
  constructor(readonly raw: Params) {}

  has(name: string): boolean {
    return this.raw[name] !== undefined && this.raw[name] !== null;
  }

  string(name: string): string {
    const value = this.raw[name];
    if (value === undefined || value === null) throw missing(name);
    if (typeof value !== 'string') throw wrongType(name, 'a string');
    return value;
  }

  optionalString(name: string): string | undefined {
    return this.has(name) ? this.string(name) : undefined;
  }

  boolean(name: string): boolean {
    const value = this.raw[name];
    if (value === undefined || value === null) throw missing(name);
    if (typeof value !== 'boolean') throw wrongType(name, 'a boolean');
    return value;
  }

  optionalBoolean(name: string): boolean | undefined {
    return this.has(name) ? this.boolean(name) : undefined;
  }

  integer(name: string): number {
    const value = this.raw[name];
    if (value === undefined || value === null) throw missing(name);
    if (typeof value !== 'number' || !Number.isInteger(value)) throw wrongType(name, 'an integer');
    return value;
  }

  optionalInteger(name: string): number | undefined {
    return this.has(name) ? this.integer(name) : undefined;
  }

  object(name: string): Params {
    const value = this.raw[name];
    if (value === undefined || value === null) throw missing(name);
    if (!isPlainObject(value)) throw wrongType(name, 'an object');
    return value;
  }

  optionalObject(name: string): Params | undefined {
    return this.has(name) ? this.object(name) : undefined;
  }

  oneOf<T extends string>(name: string, values: readonly T[]): T {
    const value = this.string(name);
    if (!(values as readonly string[]).includes(value)) {
      throw new KurentoError('MARSHALL_ERROR', `'${name}' parameter should be one of ${values.join(', ')}`);
    }
    return value as T;
  }

  optionalOneOf<T extends string>(name: string, values: readonly T[]): T | undefined {
    return this.has(name) ? this.oneOf(name, values) : undefined;
  }
}

function missing(name: string): KurentoError {
  return new KurentoError('MARSHALL_ERROR', `'${name}' parameter is required`);
}

function wrongType(name: string, what: string): KurentoError {
  return new KurentoError('MARSHALL_ERROR', `'${name}' parameter should be ${what}`);
}

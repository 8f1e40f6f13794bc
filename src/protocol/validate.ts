import { TeleptyError } from './errors.js';
import { assertSessionId, parseAddress } from './ids.js';

/** Small validators for wire input: each throws INVALID_FIELD with a sentence naming the field. */
export type Fields = Record<string, unknown>;

function invalid(field: string, what: string): TeleptyError {
  return new TeleptyError('INVALID_FIELD', `"${field}" must be ${what}`, { field });
}

export function expectObject(value: unknown, what = 'the request body'): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TeleptyError('INVALID_FIELD', `${what} must be a JSON object`);
  }
  return value as Fields;
}

export interface StringRule {
  max?: number;
  min?: number;
  /** Refuse NUL bytes (they end C strings: paths, argv, env). */
  noNul?: boolean;
}

export function optString(o: Fields, key: string, rule: StringRule = {}): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(key, 'a string');
  if (rule.min !== undefined && v.length < rule.min) throw invalid(key, `at least ${rule.min} characters`);
  if (rule.max !== undefined && v.length > rule.max) throw invalid(key, `at most ${rule.max} characters`);
  if (rule.noNul && v.includes('\0')) throw invalid(key, 'free of NUL characters');
  return v;
}

export function reqString(o: Fields, key: string, rule: StringRule = {}): string {
  const v = optString(o, key, rule);
  if (v === undefined) throw new TeleptyError('INVALID_FIELD', `"${key}" is required`, { field: key });
  return v;
}

export function optInt(o: Fields, key: string, min: number, max: number): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(key, `an integer ${min}-${max}`);
  return v;
}

export function optBool(o: Fields, key: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalid(key, 'true or false');
  return v;
}

export function optStringArray(o: Fields, key: string, maxItems: number, rule: StringRule = {}): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length > maxItems) throw invalid(key, `an array of at most ${maxItems} strings`);
  return v.map((item, i) => optString({ [`${key}[${i}]`]: item }, `${key}[${i}]`, rule) ?? '');
}

/**
 * An optional field naming a session: a session id, or with `address` also `id@host` (a session that may live
 * on another machine). Anything else is 400 INVALID_SESSION_ID.
 */
export function optSessionRef(o: Fields, key: string, opts: { address: boolean }): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (opts.address) parseAddress(v, `"${key}"`);
  else assertSessionId(v, `"${key}"`);
  return v as string;
}

export function optSessionRefArray(o: Fields, key: string, maxItems: number, opts: { address: boolean }): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length > maxItems) throw invalid(key, `an array of at most ${maxItems} session ids`);
  return v.map((item: unknown, i) => {
    const field = `${key}[${i}]`;
    return optSessionRef({ [field]: item }, field, opts) ?? assertSessionId(item, `"${field}"`);
  });
}

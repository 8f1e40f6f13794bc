/**
 * Guards for answers and messages from another process: type predicates built from small checks, so a caller
 * narrows `unknown` to a wire shape without a cast. A shape guard checks the fields it lists (the ones callers
 * read); fields it does not list may be absent in an older peer and are typed optional or read defensively.
 */
export type Guard<T> = (value: unknown) => value is T;
export type Check = (value: unknown) => boolean;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export const isString: Check = (v) => typeof v === 'string';
export const isNumber: Check = (v) => typeof v === 'number' && Number.isFinite(v);
export const isInteger: Check = (v) => Number.isInteger(v);
export const isBoolean: Check = (v) => typeof v === 'boolean';
export const isTrue: Check = (v) => v === true;
export const isArray: Check = (v) => Array.isArray(v);

export function nullable(check: Check): Check {
  return (v) => v === null || check(v);
}

export function optional(check: Check): Check {
  return (v) => v === undefined || check(v);
}

export function oneOf(...values: readonly unknown[]): Check {
  return (v) => values.includes(v);
}

export function arrayOf<T>(item: Guard<T>): Guard<T[]>;
export function arrayOf(item: Check): Check;
export function arrayOf(item: Check): Check {
  return (v) => Array.isArray(v) && v.every((x) => item(x));
}

/** A JSON object whose listed fields pass their checks. The type says what the listed fields guarantee. */
export function shape<T>(checks: { [K in keyof T]?: Check }): Guard<T> {
  const entries = Object.entries(checks).filter((e): e is [string, Check] => typeof e[1] === 'function');
  return (value: unknown): value is T => isRecord(value) && entries.every(([key, check]) => check(value[key]));
}

import type * as z from 'zod';

/**
 * Zod fields for some fields of a contract type (a request body of src/protocol): each field must be one of the
 * body's, of the body's own type (optional or not), so a field renamed or retyped in the contract fails the build
 * here instead of drifting. The values themselves are checked by the operation's parser (context.ts
 * checkRequest), not by these schemas: they tell the model what to send.
 */
export function fieldsOf<T>(): <S extends { [P in keyof S]: P extends keyof T ? z.ZodType<T[P] | undefined> : never }>(shape: S) => S {
  return (shape) => shape;
}

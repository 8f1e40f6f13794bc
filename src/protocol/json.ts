import { TeleptyError } from './errors.js';

/** No wire message needs more; deeper input would overflow the stack when it is encoded again. */
export const MAX_JSON_DEPTH = 64;

/** Whether `text` nests arrays/objects deeper than `max` (a linear scan that skips strings). */
export function jsonTooDeep(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (escaped) escaped = false;
      else if (c === 0x5c) escaped = true;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** JSON.parse for input from the outside: INVALID_JSON for bad syntax or nesting deeper than MAX_JSON_DEPTH. */
export function parseJsonInput(text: string, what = 'the request body'): unknown {
  if (jsonTooDeep(text)) throw new TeleptyError('INVALID_JSON', `${what} nests deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(text);
  } catch (err) {
    if (err instanceof SyntaxError) throw new TeleptyError('INVALID_JSON', `${what} is not valid JSON (${err.message})`);
    throw err;
  }
}

/** A frame from another process: its JSON value, or undefined when it is not (depth-bounded) JSON. */
export function parseJsonFrame(text: string): unknown {
  if (jsonTooDeep(text)) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

import type { CallToolResult } from '@modelcontextprotocol/server';
import { isTeleptyError } from '../protocol/errors.js';
import { capText, type Caps, type Capped } from './limits.js';

/** A tool's answer: its (capped) text, and the note that says what was cut, as the last line. */
export function textResult(capped: Capped): CallToolResult {
  return { content: [{ type: 'text', text: capped.note ? `${capped.text}\n${capped.note}` : capped.text }] };
}

/** A JSON answer, pretty enough to read, capped like any other. */
export function jsonResult(value: unknown, caps: Caps): CallToolResult {
  return textResult(capText(JSON.stringify(value, null, 1), caps, 'head'));
}

/**
 * A failure as an MCP tool error (isError): telepty's code first, so an agent can branch on it
 * (`SESSION_NOT_FOUND: no session "x"`), then the error's details as JSON when it has any (a TIMEOUT's job).
 */
export function errorResult(err: unknown): CallToolResult {
  if (isTeleptyError(err)) {
    const details = err.details && Object.keys(err.details).length > 0 ? `\n${JSON.stringify(err.details)}` : '';
    return { isError: true, content: [{ type: 'text', text: `${err.code}: ${err.message}${details}` }] };
  }
  return { isError: true, content: [{ type: 'text', text: `INTERNAL: ${err instanceof Error ? err.message : String(err)}` }] };
}

/** Run a tool's work; a thrown error becomes its tool error (never a protocol error that hides the code). */
export async function guarded(work: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await work();
  } catch (err) {
    return errorResult(err);
  }
}

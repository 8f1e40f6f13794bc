import type { ServerResponse } from 'node:http';
import { TeleptyError, isTeleptyError } from '../../protocol/errors.js';
import type { Logger } from '../../util/log.js';

const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

export function sendJson(res: ServerResponse, status: number, body: unknown, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body ?? null);
  res.writeHead(status, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(text), ...extraHeaders });
  res.end(text);
}

/**
 * The one place that turns a failure into an HTTP answer. Expected failures carry their code and status;
 * anything else is logged in full here and answered with a generic 500 (no stack, no paths to the caller).
 */
export function errorAnswer(err: unknown, log: Logger, context: string): { status: number; body: Record<string, unknown> } {
  if (isTeleptyError(err)) return { status: err.status, body: err.toBody() };
  log.error(`unexpected failure in ${context}`, err);
  const internal = new TeleptyError('INTERNAL', 'internal error; see the daemon log');
  return { status: internal.status, body: internal.toBody() };
}

/**
 * The one redaction of error texts for callers on another machine (HTTP errors, multicast failures, bus error
 * frames, daemon events): the first line only (no stack trace), absolute paths replaced by `<path>`. Local
 * callers get the whole text: they own those files.
 */
export function redactErrorText(text: string): string {
  const first = text.split('\n')[0] ?? '';
  return first.replace(/(?:\/[^\s"'`:,;()]+){2,}\/?/g, '<path>');
}

/** What a caller on another machine may see of an error body: the redacted text and the code, no detail fields (log files, internal ids). */
export function redactForRemote(body: Record<string, unknown>): { error: string; code: unknown } {
  return { error: redactErrorText(String(body.error)), code: body.code };
}

export function sendError(res: ServerResponse, err: unknown, log: Logger, context: string, extraHeaders: Record<string, string> = {}, remote = false): void {
  const { status, body } = errorAnswer(err, log, context);
  sendJson(res, status, remote ? redactForRemote(body) : body, extraHeaders);
}

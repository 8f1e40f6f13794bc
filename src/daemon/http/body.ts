import type { IncomingMessage } from 'node:http';
import { TeleptyError } from '../../protocol/errors.js';
import { parseJsonInput } from '../../protocol/json.js';

/** Large enough for a 100,000-character prompt in any script after JSON escaping; 10 MB bodies are refused. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * Read and parse a JSON body with a size bound. An empty body parses as undefined.
 * On overflow the stream is left paused, not destroyed, so the caller can answer 413 and drain it.
 */
export async function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const buf = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
  if (buf.length === 0) return undefined;
  return parseJsonInput(buf.toString('utf8'));
}

/**
 * A request that carries no body at all: no Content-Type, no Content-Length (or 0) and no Transfer-Encoding.
 * The seed's clients POST to action routes (`/submit`) this way; it is accepted as an empty body. Anything
 * with a Content-Type must still say application/json (a form a browser can send is never read as a request).
 */
export function isBodyless(req: IncomingMessage): boolean {
  const h = req.headers;
  return h['content-type'] === undefined && h['transfer-encoding'] === undefined && (h['content-length'] === undefined || h['content-length'] === '0');
}

function tooLarge(limit: number): TeleptyError {
  return new TeleptyError('PAYLOAD_TOO_LARGE', `the request body is larger than ${limit} bytes`, { limit_bytes: limit });
}

import WebSocket from 'ws';
import { TeleptyError, isErrorBody } from '../protocol/errors.js';
import { TOKEN_HEADER } from '../protocol/headers.js';
import type { DaemonClient } from './daemon-client.js';
import { formatHost } from '../wire/http.js';

export interface DaemonSocket {
  ws: WebSocket;
  /** Start handling frames; frames that arrived before (even with the handshake) come first. */
  onMessage(handler: (data: Buffer) => void): void;
}

/**
 * Open a WebSocket to the daemon. A refusal (unknown session, bad filter, auth) becomes the TeleptyError of
 * its JSON answer. Frames are buffered from the start, because one can arrive in the same read as the
 * handshake and be emitted before an awaited open resumes the caller.
 */
export async function openDaemonSocket(client: DaemonClient, pathAndQuery: string, maxPayload?: number): Promise<DaemonSocket> {
  const { host, port, token } = (await client.handle()).endpoint;
  const ws = new WebSocket(`ws://${formatHost(host)}:${port}${pathAndQuery}`, {
    headers: token ? { [TOKEN_HEADER]: token } : {},
    perMessageDeflate: false,
    ...(maxPayload ? { maxPayload } : {}),
  });
  const early: Buffer[] = [];
  let handler: ((data: Buffer) => void) | null = null;
  ws.on('message', (data: Buffer) => (handler ? handler(data) : early.push(data)));

  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch (err) {
          body = { error: `refused with HTTP ${res.statusCode} (${(err as Error).message})`, code: 'INTERNAL' };
        }
        reject(isErrorBody(body) ? TeleptyError.fromBody(body) : new TeleptyError('INTERNAL', `refused with HTTP ${res.statusCode}`));
      });
    });
    ws.once('error', (err) => reject(new TeleptyError('DAEMON_UNREACHABLE', `cannot open ${pathAndQuery.split('?')[0]}: ${err.message}`)));
  });
  return {
    ws,
    onMessage(h) {
      handler = h;
      for (const d of early.splice(0)) h(d);
    },
  };
}

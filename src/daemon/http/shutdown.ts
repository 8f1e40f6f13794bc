import { once } from 'node:events';
import type http from 'node:http';
import type { WebSocketServer } from 'ws';
import type { Logger } from '../../util/log.js';

/** During shutdown, how often idle keep-alive sockets are closed (a client's last answer makes its socket idle). */
const SHUTDOWN_IDLE_SWEEP_MS = 20;

/**
 * Close the server and its sockets, bounded: WebSockets are told 1001, keep-alive sockets close once idle, and
 * whatever is still open after `graceMs` is cut; resolves even if the server never reports closed (2 × graceMs).
 */
export async function closeServer(server: http.Server, sockets: WebSocketServer[], graceMs: number, log: Logger): Promise<void> {
  for (const wss of sockets) for (const client of wss.clients) client.close(1001, 'daemon stopping');
  const done = once(server, 'close');
  server.close();
  // Keep-alive sockets (including the one that asked us to stop) go idle only after their answer.
  const sweep = setInterval(() => server.closeIdleConnections(), SHUTDOWN_IDLE_SWEEP_MS);
  server.closeIdleConnections();
  const force = setTimeout(() => {
    log.warn(`connections still open after ${graceMs} ms; closing them`);
    server.closeAllConnections();
    for (const wss of sockets) for (const client of wss.clients) client.terminate();
  }, graceMs);
  // Bounded even if the server never reports closed (a socket it still counts): stopping must end.
  let giveUp: NodeJS.Timeout | undefined;
  const abandoned = new Promise<'abandoned'>((resolve) => (giveUp = setTimeout(() => resolve('abandoned'), 2 * graceMs)));
  try {
    if ((await Promise.race([done, abandoned])) === 'abandoned') log.warn('the HTTP server did not report closed; stopping anyway');
  } finally {
    clearTimeout(force);
    clearTimeout(giveUp);
    clearInterval(sweep);
  }
}

/** Listen exclusively on host:port: the port bound, or `in-use` when another process holds it. */
export function listen(server: http.Server, host: string, port: number): Promise<number | 'in-use'> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') resolve('in-use');
      else reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port, exclusive: true });
  });
}

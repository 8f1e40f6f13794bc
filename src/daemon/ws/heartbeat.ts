import type WebSocket from 'ws';

/** A heartbeat this much later than its interval found the daemon busy: no verdict on the peer from it. */
const HEARTBEAT_LATE_FACTOR = 1.5;

/**
 * Ping `ws` every `intervalMs` and call `onSilent` when a whole interval passed with no sign of life: no pong and no
 * message (any message counts). A beat that comes late means this daemon was held up (a flood), not that the peer
 * was silent: its pong may be waiting unread, so only a beat on time gives a verdict. Stopped when `ws` closes.
 */
export function watchHeartbeat(ws: WebSocket, intervalMs: number, onSilent: () => void): void {
  let alive = true;
  let lastBeat = Date.now();
  const timer = setInterval(() => {
    const late = Date.now() - lastBeat > intervalMs * HEARTBEAT_LATE_FACTOR;
    lastBeat = Date.now();
    if (!alive && !late) {
      onSilent();
      return;
    }
    alive = false;
    ws.ping();
  }, intervalMs);
  const lives = (): void => {
    alive = true;
  };
  ws.on('pong', lives);
  ws.on('message', lives);
  ws.once('close', () => clearInterval(timer));
}

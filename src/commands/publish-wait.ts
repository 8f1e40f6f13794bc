import type { DaemonClient } from '../client/daemon-client.js';
import { openDaemonSocket } from '../client/ws.js';
import { BUS_PATH, isBusEvent, type BusEvent, type PublishAck } from '../protocol/bus.js';
import { parseJsonFrame } from '../protocol/json.js';
import { TeleptyError, isErrorCode } from '../protocol/errors.js';

/** Kinds the daemon routes (the auto-router turns them into injects and answers with an ack event). */
export const ROUTED_KINDS = new Set(['turn_request']);

/** How `publish --wait` waits when no --timeout is given: an inject queued behind others may take this long. */
export const DEFAULT_ROUTE_WAIT_MS = 60_000;

/**
 * Wait for the auto-router's answer to one published event: its `inject_written` (delivered) or `inject_failed`,
 * matched by `original_message_id`. The subscription starts at the event's own seq, so an answer published before
 * it opened is replayed, never missed. Resolves with the answer; a failure throws its code (exit status follows).
 */
export async function awaitRouted(client: DaemonClient, ack: PublishAck, timeoutMs: number): Promise<BusEvent> {
  const query = `kind=inject_written&kind=inject_failed&since=${ack.seq}`;
  const { ws, onMessage } = await openDaemonSocket(client, `${BUS_PATH}?${query}`);
  try {
    return await new Promise<BusEvent>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new TeleptyError('TIMEOUT', `no routing answer for message ${ack.message_id} within ${Math.round(timeoutMs / 1000)} s; it may still be delivered (watch \`telepty tail --kind inject_written\`)`, {
              job: 'pending',
            }),
          ),
        timeoutMs,
      );
      ws.once('close', () => {
        clearTimeout(timer);
        reject(new TeleptyError('DAEMON_UNREACHABLE', `the daemon closed the bus before answering message ${ack.message_id}`));
      });
      onMessage((data) => {
        const ev = parseJsonFrame(data.toString('utf8'));
        if (!isBusEvent(ev)) {
          clearTimeout(timer);
          reject(new TeleptyError('PROTOCOL_MISMATCH', `the daemon sent a bus frame that is not an event while message ${ack.message_id} waited for its routing: ${data.toString('utf8').slice(0, 200)}`));
          return;
        }
        if (ev.original_message_id !== ack.message_id) return;
        clearTimeout(timer);
        if (ev.kind === 'inject_failed') {
          const code = isErrorCode(ev.code) ? ev.code : 'INTERNAL';
          reject(new TeleptyError(code, `not delivered to ${String(ev.target_agent ?? 'its target')}: ${String(ev.error ?? 'inject failed')}`, { event: ev }));
        } else resolve(ev);
      });
    });
  } finally {
    ws.close(1000, 'done');
  }
}

import type WebSocket from 'ws';
import { connect, type DaemonClient } from '../client/daemon-client.js';
import { openDaemonSocket } from '../client/ws.js';
import { BUS_PATH, isBusEvent, type BusEvent, type PublishAck } from '../protocol/bus.js';
import { parseJsonFrame } from '../protocol/json.js';
import { TeleptyError, isErrorCode, isTeleptyError } from '../protocol/errors.js';

/** Kinds the daemon routes (the auto-router turns them into injects and answers with an ack event). */
export const ROUTED_KINDS = new Set(['turn_request']);

/** How `publish --wait` waits when no --timeout is given: an inject queued behind others may take this long. */
export const DEFAULT_ROUTE_WAIT_MS = 60_000;

/** Reconnect delays while the daemon is replaced (as tail's): the next one is usually up within a second. */
const RESUME_DELAYS_MS = [100, 250, 500, 1_000];

/**
 * What answers a routed event: the router's ack (`inject_written`, `inject_failed`), or the outcome of its inject
 * (`submitted`, `entered`, `written`), which a session host publishes again to the next daemon when the one that
 * routed it died before acking: all carry `original_message_id`.
 */
const ANSWER_KINDS = ['inject_written', 'inject_failed', 'submitted', 'entered', 'written'];

/**
 * Wait for the auto-router's answer to one published event: its `inject_written` (delivered) or `inject_failed`,
 * matched by `original_message_id`. The subscription starts at the event's own seq, so an answer published before
 * it opened is replayed, never missed. When the daemon goes away meanwhile, the wait goes on with the next daemon
 * (from its first event: seqs restart with it), where the host's outcome of the inject comes again. Resolves with
 * the answer; a failure throws its code (exit status follows); no answer in time is TIMEOUT with job "pending".
 */
export async function awaitRouted(client: DaemonClient, ack: PublishAck, timeoutMs: number): Promise<BusEvent> {
  const query = (since: number): string => `${BUS_PATH}?${ANSWER_KINDS.map((k) => `kind=${k}`).join('&')}&since=${since}`;
  const sockets: WebSocket[] = [];
  let settled = false;
  try {
    return await new Promise<BusEvent>((resolve, reject) => {
      const settle = (answer: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        answer();
      };
      const timer = setTimeout(
        () =>
          settle(() =>
            reject(
              new TeleptyError('TIMEOUT', `no routing answer for message ${ack.message_id} within ${timeoutMs / 1000} s; it may still be delivered (its inject_written or outcome names it as original_message_id: \`telepty tail --kind inject_written --kind submitted\`)`, {
                job: 'pending',
              }),
            ),
          ),
        timeoutMs,
      );
      const watch = async (c: DaemonClient, since: number): Promise<void> => {
        const { ws, onMessage } = await openDaemonSocket(c, query(since));
        if (settled) {
          ws.close(1000, 'done');
          return;
        }
        sockets.push(ws);
        ws.once('close', () => {
          if (!settled) setTimeout(() => void resume(0), RESUME_DELAYS_MS[0]);
        });
        onMessage((data) => {
          const ev = parseJsonFrame(data.toString('utf8'));
          if (!isBusEvent(ev)) {
            settle(() => reject(new TeleptyError('PROTOCOL_MISMATCH', `the daemon sent a bus frame that is not an event while message ${ack.message_id} waited for its routing: ${data.toString('utf8').slice(0, 200)}`)));
            return;
          }
          if (ev.original_message_id !== ack.message_id) return;
          if (ev.kind === 'inject_failed') {
            const code = isErrorCode(ev.code) ? ev.code : 'INTERNAL';
            settle(() => reject(new TeleptyError(code, `not delivered to ${String(ev.target_agent ?? 'its target')}: ${String(ev.error ?? 'inject failed')}`, { event: ev })));
          } else settle(() => resolve(ev));
        });
      };
      /** The daemon went away: find the next one (never start one from here) and watch it from its first event. */
      const resume = async (attempt: number): Promise<void> => {
        if (settled) return;
        try {
          const c = await connect({ autostart: false });
          if (!c) throw new TeleptyError('DAEMON_UNREACHABLE', 'no daemon yet');
          await watch(c, 0);
        } catch (err) {
          if (!isTeleptyError(err)) {
            settle(() => reject(err));
            return;
          }
          setTimeout(() => void resume(attempt + 1), RESUME_DELAYS_MS[Math.min(attempt + 1, RESUME_DELAYS_MS.length - 1)]);
        }
      };
      watch(client, ack.seq).catch((err: unknown) => {
        // Gone between the publish and the subscription: as when it goes while watched.
        if (isTeleptyError(err) && err.code === 'DAEMON_UNREACHABLE') void resume(0);
        else settle(() => reject(err));
      });
    });
  } finally {
    for (const ws of sockets) ws.close(1000, 'done');
  }
}

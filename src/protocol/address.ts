/**
 * Where a session address (`id` or `id@machine`) points, and who a reply goes to: decided here once, for the
 * daemon's target resolution (daemon/sessions/targets.ts) and the CLI's `reply` alike.
 */
import type { SessionAddress } from './ids.js';

/** Whether `address` names a session of `machineId`: `id` and `id@<machineId>` do, `id@<another>` does not. */
export function isOnMachine(address: SessionAddress, machineId: string): boolean {
  return address.host === null || address.host === machineId;
}

/** Who answers to a prompt go to: its `reply_to`, or else its sender. */
export function replyAddressOf(replyTo: string | null | undefined, from: string | null): string | null {
  return replyTo ?? from;
}

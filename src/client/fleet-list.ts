import { TeleptyError } from '../protocol/errors.js';
import type { SessionObject } from '../protocol/session.js';
import type { DaemonClient } from './daemon-client.js';
import { fleetStatus } from './fleet.js';
import { listSessions } from './sessions.js';

/** A session of some machine of the fleet, as `list --all` shows it. */
export type FleetSession = SessionObject & {
  machine: string;
  address: string;
  /** False when its machine's presence lapsed: the row is what the directory last held. */
  reachable: boolean;
  last_seen: number | null;
};

function isSessionRow(v: Record<string, unknown>): v is SessionObject & Record<string, unknown> {
  return typeof v.id === 'string' && typeof v.command === 'string' && typeof v.status === 'string' && Array.isArray(v.args);
}

/** What `list --all` found: the rows, and why other machines' are missing (null: none is). */
export interface FleetListing {
  rows: FleetSession[];
  /**
   * HOST_OFFLINE when this daemon is in a fleet but not connected to it now (the hub down, its credentials refused):
   * the directory cannot be read, so only this machine's sessions are in `rows`.
   */
  missing: TeleptyError | null;
}

/**
 * This machine's sessions (from its daemon, exact) and every other machine's (from the fleet directory: one read,
 * no machine asked), each with its machine; `machine` keeps one machine's only.
 */
export async function listFleetSessions(c: DaemonClient, machine?: string): Promise<FleetListing> {
  const [local, st] = await Promise.all([listSessions(c), fleetStatus(c, { rtt: false })]);
  const missing =
    st.state === 'off' || st.state === 'connected'
      ? null
      : new TeleptyError('HOST_OFFLINE', `this machine is not connected to the fleet now (${st.state}${st.server ? ` to ${st.server}` : ''}${st.error ? `: ${st.error}` : ''}), so other machines' sessions cannot be listed`);
  const rows: FleetSession[] = local.map((s) => ({ ...s, machine: st.machine, address: `${s.id}@${st.machine}`, reachable: true, last_seen: null }));
  for (const m of st.machines) {
    if (m.machine === st.machine) continue;
    for (const s of m.sessions) {
      if (!isSessionRow(s)) continue;
      rows.push({ ...s, machine: m.machine, address: `${s.id}@${m.machine}`, reachable: m.reachable, last_seen: m.last_seen });
    }
  }
  return { rows: machine === undefined ? rows : rows.filter((r) => r.machine === machine), missing };
}

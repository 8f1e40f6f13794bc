import { connect } from '../client/daemon-client.js';
import { fleetStatus } from '../client/fleet.js';
import type { FleetStatus } from '../protocol/fleet.js';
import { EXIT } from '../ui/exit.js';
import { printJson, printLine } from '../ui/print.js';

function ago(ms: number | null, now: number): string {
  if (ms === null) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}

export function describeFleet(st: FleetStatus, now: number): string[] {
  if (st.state === 'off') return [`${st.machine}: not in a fleet (local only). Set one up with: telepty fleet init --machines ${st.machine},other`];
  if (st.state === 'error') return [`${st.machine}: the fleet is configured but not usable: ${st.error ?? 'unknown error'}`];
  const away = st.state === 'connecting' || st.state === 'reconnecting' ? ": the hub does not answer now; this machine's sessions go on, and it joins by itself once the hub is back" : '';
  const lines = [`${st.machine}: ${st.state}${st.server ? ` to ${st.server}` : ''}${st.hub_rtt_ms !== null ? `, hub round trip ${st.hub_rtt_ms} ms` : ''}${away}`];
  for (const m of st.machines) {
    const rtt = m.rtt_ms !== null ? `, round trip ${m.rtt_ms} ms` : '';
    const where = m.machine === st.machine ? ' (this machine)' : '';
    lines.push(`  ${m.machine}${where}: ${m.reachable ? 'reachable' : `unreachable, last seen ${ago(m.last_seen, now)}`}, ${m.sessions.length} session(s)${rtt}`);
  }
  return lines;
}

/** The exit status of `fleet status`: in no fleet or joined is fine; a fleet this daemon is not joined to now is not. */
export function fleetStatusExit(st: FleetStatus): number {
  return st.state === 'off' || st.state === 'connected' ? EXIT.OK : EXIT.UNAVAILABLE;
}

export async function runFleetStatus(opts: { json?: boolean }): Promise<number> {
  const client = await connect();
  const st = await fleetStatus(client);
  if (opts.json) printJson(st);
  else for (const l of describeFleet(st, Date.now())) printLine(l);
  return fleetStatusExit(st);
}

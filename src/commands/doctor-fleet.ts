import { promises as fs } from 'node:fs';
import { callEndpoint } from '../client/daemon-client.js';
import type { DaemonHandle } from '../client/local-daemon.js';
import { fleetStatusOp } from '../protocol/ops/fleet.js';
import type { TeleptyConfig } from '../util/config.js';
import type { Check } from './doctor.js';
import { fleetSettings } from './fleet-check.js';

/**
 * The fleet as `doctor` sees it: local only; settings a daemon could not use (another machine's credentials, a
 * missing or broken file); a credentials file others can read (it holds this machine's secret key); and, with a
 * daemon running, whether that daemon is joined to the hub now.
 */
export async function checkFleet(config: TeleptyConfig, env: NodeJS.ProcessEnv, daemon: DaemonHandle | null): Promise<Check[]> {
  const settings = await fleetSettings(config, env);
  if (settings.kind === 'none') return [{ check: 'fleet', status: 'ok', detail: 'not in a fleet (local only)' }];
  if (settings.kind === 'unusable') return [{ check: 'fleet', status: 'error', detail: settings.problem, fix: 'set TELEPTY_NATS_CREDS / TELEPTY_MACHINE_ID as said, then: telepty daemon restart' }];
  const file = settings.credsFile;
  const checks: Check[] = [];
  const mode = (await fs.stat(file)).mode & 0o777;
  if (mode & 0o077) checks.push({ check: 'fleet credentials', status: 'warning', detail: `${file} is readable by others (mode ${mode.toString(8)}), and it holds this machine's secret key`, fix: `chmod 600 ${file}` });
  if (daemon === null) return [...checks, { check: 'fleet', status: 'ok', detail: `machine ${config.machineId}, credentials ${file}: the daemon joins when it starts` }];
  const st = await callEndpoint(daemon.endpoint, fleetStatusOp, { query: { rtt: false } });
  if (st.state === 'connected') checks.push({ check: 'fleet', status: 'ok', detail: `joined as ${st.machine} through ${st.server ?? 'the hub'}; ${st.machines.filter((m) => m.reachable).length} machine(s) reachable` });
  else if (st.state === 'off') checks.push({ check: 'fleet', status: 'warning', detail: 'the running daemon is in no fleet: it was started without these settings', fix: 'telepty daemon restart (from this environment; sessions keep running)' });
  else if (st.state === 'error') checks.push({ check: 'fleet', status: 'error', detail: `the running daemon cannot use its fleet settings: ${st.error ?? 'unknown error'}`, fix: 'correct them, then: telepty daemon restart' });
  else checks.push({ check: 'fleet', status: 'warning', detail: `the daemon is not connected to the hub now (${st.state}${st.server ? `, ${st.server}` : ''})`, fix: 'check that the hub runs (telepty fleet hub) and that this machine reaches its address' });
  return checks;
}

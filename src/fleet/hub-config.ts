import { createUser } from '@nats-io/nkeys';
import { fleetPermissions, subjectToken } from '../protocol/fleet.js';
import { MACHINE_ID_PATTERN } from '../protocol/ids.js';
import { TeleptyError } from '../protocol/errors.js';
import { CREDENTIALS_VERSION, type FleetCredentials } from './credentials.js';

/**
 * `telepty fleet init`: a nats-server configuration for the fleet's hub and one credentials file per machine.
 * Each machine is an NKEY user with the subject permissions of protocol/fleet.ts; the hub's own `admin` user (it
 * creates the event stream and the directory bucket) has all subjects. Secrets (seeds) go only into the
 * credentials files; the server's configuration holds public keys.
 */

export interface HubPlan {
  machines: string[];
  /** The URL(s) machines dial, written into their credentials (e.g. nats://hub.example:4222). */
  servers: string[];
  /** host:port the hub listens on. */
  listen: string;
  /** Where JetStream keeps the fleet's events and directory. */
  storeDir: string;
}

export interface HubFiles {
  config: string;
  credentials: FleetCredentials[];
  admin: FleetCredentials;
}

/** The hub's own user: creates the stream and the bucket; never a machine's name (ids cannot start with `_`). */
export const ADMIN_MACHINE = 'telepty-hub-admin';

/** The fleet's events and directory are small JSON records: these caps bound the hub's memory and disk. */
const JETSTREAM_MAX_MEMORY = '64MB';
const JETSTREAM_MAX_FILE = '1GB';

function seedText(seed: Uint8Array): string {
  return new TextDecoder().decode(seed);
}

/** A NATS configuration string: always double-quoted, so `$` and `>` are never read as variables or syntax. */
function q(s: string): string {
  return JSON.stringify(s);
}

export function validateMachines(machines: string[]): string[] {
  const seen = new Set<string>();
  for (const m of machines) {
    if (!MACHINE_ID_PATTERN.test(m)) throw new TeleptyError('INVALID_FIELD', `"${m}" is not a machine id (letters, digits, . _ : - ; up to 253)`);
    const token = subjectToken(m);
    if (seen.has(token)) throw new TeleptyError('INVALID_FIELD', `machine "${m}" is named twice`);
    seen.add(token);
  }
  if (machines.length === 0) throw new TeleptyError('INVALID_FIELD', 'name at least one machine: --machines desk,laptop');
  return machines;
}

export function planHub(plan: HubPlan): HubFiles {
  validateMachines(plan.machines);
  const credentials: FleetCredentials[] = [];
  const users: string[] = [];
  for (const machine of plan.machines) {
    const kp = createUser();
    credentials.push({ version: CREDENTIALS_VERSION, machine, servers: plan.servers, nkey_seed: seedText(kp.getSeed()) });
    const p = fleetPermissions(machine);
    users.push(
      [
        `    # ${machine}`,
        `    { nkey: ${q(kp.getPublicKey())}, permissions: {`,
        `        publish: { allow: [${p.publish.map(q).join(', ')}] }`,
        `        subscribe: { allow: [${p.subscribe.map(q).join(', ')}] }`,
        `        allow_responses: true`,
        `    } }`,
      ].join('\n'),
    );
  }
  const adminKp = createUser();
  const admin: FleetCredentials = { version: CREDENTIALS_VERSION, machine: ADMIN_MACHINE, servers: plan.servers, nkey_seed: seedText(adminKp.getSeed()) };
  users.push(`    # ${ADMIN_MACHINE}: the hub's own user (creates the event stream and the directory)\n    { nkey: ${q(adminKp.getPublicKey())} }`);
  const config = [
    `# telepty fleet hub: written by 'telepty fleet init' for ${plan.machines.join(', ')}`,
    `# Run it with 'telepty fleet hub' (or: nats-server -c <this file>).`,
    `listen: ${q(plan.listen)}`,
    `server_name: "telepty-hub"`,
    `jetstream {`,
    `  store_dir: ${q(plan.storeDir)}`,
    `  max_memory_store: ${JETSTREAM_MAX_MEMORY}`,
    `  max_file_store: ${JETSTREAM_MAX_FILE}`,
    `}`,
    `authorization {`,
    `  users = [`,
    users.join('\n'),
    `  ]`,
    `}`,
    '',
  ].join('\n');
  return { config, credentials, admin };
}

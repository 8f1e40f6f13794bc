import { promises as fs } from 'node:fs';
import path from 'node:path';
import { TeleptyError } from '../protocol/errors.js';
import { ensureDir, writeFileAtomic } from '../util/files.js';
import type { FleetCredentials } from './credentials.js';
import type { HubFiles } from './hub-config.js';

/** The hub's configuration file, in the folder `fleet init` writes. */
export const HUB_CONFIG_FILE = 'nats-server.conf';
/** The hub's own credentials (kept on the hub). */
export const ADMIN_CREDENTIALS_FILE = 'hub-admin.creds.json';

export function credentialsFileName(machine: string): string {
  return `${machine}.creds.json`;
}

export interface WrittenFleet {
  dir: string;
  config: string;
  admin: string;
  machines: { machine: string; file: string }[];
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

function credentialsText(c: FleetCredentials): string {
  return `${JSON.stringify(c, null, 2)}\n`;
}

/**
 * Write the hub's configuration and every machine's credentials into `dir` (created 0700; files 0600). Nothing is
 * overwritten unless `force`: new keys would lock out every machine that has the old ones.
 */
export async function writeFleetFiles(dir: string, files: HubFiles, force: boolean): Promise<WrittenFleet> {
  const out: WrittenFleet = {
    dir,
    config: path.join(dir, HUB_CONFIG_FILE),
    admin: path.join(dir, ADMIN_CREDENTIALS_FILE),
    machines: files.credentials.map((c) => ({ machine: c.machine, file: path.join(dir, credentialsFileName(c.machine)) })),
  };
  const targets = [out.config, out.admin, ...out.machines.map((m) => m.file)];
  if (!force) {
    const present: string[] = [];
    for (const t of targets) if (await exists(t)) present.push(t);
    if (present.length > 0) {
      throw new TeleptyError('CONFLICT', `${present.join(', ')} already exist${present.length === 1 ? 's' : ''}; new keys would lock out the machines holding the old ones (--force to replace them)`);
    }
  }
  await ensureDir(dir);
  await writeFileAtomic(out.config, files.config);
  await writeFileAtomic(out.admin, credentialsText(files.admin));
  for (const [i, c] of files.credentials.entries()) await writeFileAtomic(out.machines[i]!.file, credentialsText(c));
  return out;
}

import os from 'node:os';
import path from 'node:path';
import { parseNatsUrls } from '../fleet/credentials.js';
import { planHub } from '../fleet/hub-config.js';
import { writeFleetFiles } from '../fleet/init-files.js';
import { loadConfig } from '../util/config.js';
import { printJson, printLine } from '../ui/print.js';

export interface FleetInitOptions {
  machines: string;
  url?: string;
  listen: string;
  out?: string;
  force?: boolean;
  json?: boolean;
}

/** The port machines dial when --url is not given: NATS's own default. */
const NATS_DEFAULT_PORT = 4222;

export async function defaultFleetDir(): Promise<string> {
  const config = await loadConfig();
  return path.join(config.paths.configDir, 'fleet');
}

export async function runFleetInit(opts: FleetInitOptions): Promise<void> {
  const machines = opts.machines.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const servers = parseNatsUrls(opts.url ?? `nats://${os.hostname()}:${NATS_DEFAULT_PORT}`);
  const dir = path.resolve(opts.out ?? (await defaultFleetDir()));
  const files = planHub({ machines, servers, listen: opts.listen, storeDir: dir });
  const written = await writeFleetFiles(dir, files, opts.force === true);
  if (opts.json) {
    printJson({ dir: written.dir, config: written.config, admin_credentials: written.admin, servers, machines: written.machines });
    return;
  }
  printLine(`Wrote the fleet's hub configuration and ${machines.length} credentials file(s) to ${written.dir}:`);
  printLine(`  ${written.config}   (the hub's nats-server configuration: public keys only)`);
  for (const m of written.machines) printLine(`  ${m.file}   (secret: copy it to ${m.machine} only)`);
  printLine('');
  printLine('Next:');
  printLine(`  on the hub:        telepty fleet hub${opts.out ? ` --dir ${written.dir}` : ''}`);
  printLine(`  on each machine:   copy its .creds.json there (0600), then: TELEPTY_NATS_CREDS=<that file> telepty daemon restart`);
  printLine(`  from any machine:  telepty fleet status; telepty list --all; telepty inject ID@MACHINE "prompt"`);
  printLine(`  machines dial ${servers.join(', ')}; open that port to them (or use a VPN such as Tailscale).`);
}

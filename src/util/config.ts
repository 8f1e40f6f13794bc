import os from 'node:os';
import { TeleptyError } from '../protocol/errors.js';
import { resolvePaths, type TeleptyPaths } from './paths.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 3848;

export interface TeleptyConfig {
  paths: TeleptyPaths;
  host: string;
  /** 0 lets the daemon pick a free port (tests); clients then find it through the state file. */
  port: number;
  machineId: string;
  /** True when TELEPTY_HOST or TELEPTY_PORT was set: the address was asked for, not defaulted. */
  addressExplicit: boolean;
}

export function parsePort(value: string, source: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TeleptyError('INVALID_FIELD', `${source} must be a port number 0-65535, got ${JSON.stringify(value)}`);
  }
  return port;
}

export async function loadConfig(env: NodeJS.ProcessEnv = process.env): Promise<TeleptyConfig> {
  const hostEnv = env.TELEPTY_HOST?.trim();
  const portEnv = env.TELEPTY_PORT?.trim();
  return {
    paths: await resolvePaths(env),
    host: hostEnv || DEFAULT_HOST,
    port: portEnv ? parsePort(portEnv, 'TELEPTY_PORT') : DEFAULT_PORT,
    machineId: env.TELEPTY_MACHINE_ID?.trim() || os.hostname(),
    addressExplicit: Boolean(hostEnv || portEnv),
  };
}

/** A host as addresses compare: lower case, without the brackets of URL syntax (`[::1]`). */
export function bareHost(host: string): string {
  return host.toLowerCase().replace(/^\[|\]$/g, '');
}

/** A wildcard listen address, which covers every address of this machine: 0.0.0.0 or ::. */
export function isWildcardHost(host: string): boolean {
  const h = bareHost(host);
  return h === '0.0.0.0' || h === '::';
}

/** Every address of this machine's network interfaces (read fresh: interfaces come and go). */
export function interfaceAddresses(): string[] {
  return Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

/** Loopback names and addresses: the only hosts a CLI may auto-start a daemon on. */
export function isLoopbackHost(host: string): boolean {
  const h = bareHost(host);
  return h === 'localhost' || h === '::1' || h.startsWith('127.') || h === '::ffff:127.0.0.1';
}

/**
 * This process's environment. Commands and the client read the environment through here (or take it as a
 * parameter), never from process.env directly, so a test or another caller can hand them another.
 */
export function processEnv(): NodeJS.ProcessEnv {
  return process.env;
}

/** The session this process runs in: TELEPTY_SESSION_ID, which a session host sets for its program. */
export function sessionIdFromEnv(env: NodeJS.ProcessEnv = processEnv()): string | undefined {
  return env.TELEPTY_SESSION_ID;
}

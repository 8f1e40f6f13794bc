import { TeleptyError } from './errors.js';

/** Session ids become file names and log lines: a strict, exact pattern. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const SESSION_ID_MAX_LENGTH = 64;
/** Machine ids (the `@host` part): hostnames, Tailscale IPs, TELEPTY_MACHINE_ID values. */
export const MACHINE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,252}$/;

export function isSessionId(value: unknown): value is string {
  return typeof value === 'string' && SESSION_ID_PATTERN.test(value);
}

/** Shown in errors: never echo a huge or binary id back in full. */
export function describeId(value: unknown): string {
  if (typeof value !== 'string') return typeof value;
  const printable = value.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(printable.length > 40 ? `${printable.slice(0, 40)}…` : printable);
}

export function assertSessionId(value: unknown, field = 'session id'): string {
  if (isSessionId(value)) return value;
  throw new TeleptyError(
    'INVALID_SESSION_ID',
    `invalid ${field} ${describeId(value)}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
  );
}

/**
 * Ids a session may not take: the literal routes `/api/sessions/multicast/inject` and `/api/sessions/broadcast/inject`
 * win over `/api/sessions/:id/inject`, so a session called so could never get an inject of its own.
 */
export const RESERVED_SESSION_IDS: ReadonlySet<string> = new Set(['multicast', 'broadcast']);

/** An id for a new session (spawn, rename, wrap, register): valid, and not reserved. Lookups use assertSessionId. */
export function assertNewSessionId(value: unknown, field = 'session id'): string {
  const id = assertSessionId(value, field);
  if (RESERVED_SESSION_IDS.has(id)) {
    throw new TeleptyError('INVALID_SESSION_ID', `${field} "${id}" is reserved: /api/sessions/${id}/inject is the ${id} route, so a session with this id could not be sent a prompt; choose another id`);
  }
  return id;
}

export interface SessionAddress {
  id: string;
  /** The machine id after `@`, or null when the address has none. */
  host: string | null;
}

/** Parse `id` or `id@host`; both parts validated. `field` names the value in the error. */
export function parseAddress(value: unknown, field = 'session id'): SessionAddress {
  if (typeof value !== 'string') return { id: assertSessionId(value, field), host: null };
  const at = value.indexOf('@');
  if (at < 0) return { id: assertSessionId(value, field), host: null };
  const id = assertSessionId(value.slice(0, at), field);
  const host = value.slice(at + 1);
  if (!MACHINE_ID_PATTERN.test(host)) {
    throw new TeleptyError('INVALID_SESSION_ID', `invalid host in ${field === 'session id' ? 'address' : field} ${describeId(value)}`);
  }
  return { id, host };
}

/** A session as a user names it: `id` or `id@machine` (checked), returned as given. */
export function assertSessionRef(value: unknown, field = 'session id'): string {
  const a = parseAddress(value, field);
  return a.host === null ? a.id : `${a.id}@${a.host}`;
}

/** `base` if free, else `base-2`, `base-3`… (shortened so the result is still a valid id). */
export function uniqueSessionId(base: string, isTaken: (id: string) => boolean): string {
  let candidate = base;
  for (let n = 2; isTaken(candidate); n++) {
    const suffix = `-${n}`;
    candidate = `${base.slice(0, SESSION_ID_MAX_LENGTH - suffix.length)}${suffix}`;
  }
  return candidate;
}

/**
 * Programs that run another program named by their first word that is not an option nor a `NAME=value` (`env A=1
 * claude`, `npx @google/gemini-cli`, `nice -n 5 codex`), with their options that take the next word as a value.
 */
const LAUNCHERS: Record<string, readonly string[]> = {
  env: ['-u', '--unset', '-C', '--chdir'],
  nice: ['-n', '--adjustment'],
  nohup: [],
  npx: ['-p', '--package'],
  pnpx: [],
  bunx: ['-p', '--package'],
  uvx: ['--from', '--with', '--python', '-p'],
};

function baseName(p: string): string {
  return p.replace(/\/+$/, '').split('/').pop() ?? '';
}

/**
 * The program a launcher runs, with its own arguments (`env A=1 nice claude --x` runs claude with --x); the command
 * as given when it is no launcher, or names no program.
 */
export function launchedCommand(command: string, args: readonly string[]): { command: string; args: readonly string[] } {
  const valued = LAUNCHERS[baseName(command)];
  if (!valued) return { command, args };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (valued.includes(a)) i++;
    else if (!a.startsWith('-') && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(a)) return launchedCommand(a, args.slice(i + 1));
  }
  return { command, args };
}

/** The program a session runs, by name: the command's, or for a launcher the one it runs (itself when none shows). */
function programName(command: string, args: readonly string[]): string {
  const run = launchedCommand(command, args).command;
  if (run === command) return baseName(command);
  // A package spec names its program without scope and version: @google/gemini-cli@latest -> gemini-cli.
  const program = run.startsWith('@') ? baseName(run).replace(/@.*$/, '') : baseName(run.replace(/(.)@[^/]*$/, '$1'));
  return program || baseName(command);
}

/**
 * The default id of a session: `<folder>-<program>`, made into a valid id. The program is the command's name, or for a
 * launcher (env, npx, nice…) the name of the program it runs: `npx @google/gemini-cli` in ~/app is `app-gemini-cli`.
 */
export function deriveSessionId(cwd: string, command: string, args: readonly string[] = []): string {
  const raw = `${baseName(cwd) || 'root'}-${programName(command, args)}`;
  const cleaned = raw.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, SESSION_ID_MAX_LENGTH - 4);
  if (RESERVED_SESSION_IDS.has(cleaned)) return `${cleaned}-session`;
  return cleaned || 'session';
}

import { TeleptyError } from './errors.js';
import { assertSessionId } from './ids.js';
import { parseRecordSpec, type RecordSpec } from './recording.js';
import { parseTags } from './tags.js';
import type { SessionType } from './session.js';
import { expectObject, optBool, optInt, optString, optStringArray, reqString, type Fields } from './validate.js';

/** Everything a host needs to start its session. For detached hosts the daemon writes it on the host's stdin. */
export interface HostSpec {
  session_id: string;
  /** The daemon may rename us on first registration when the id is taken (wrap without --id). */
  id_flexible: boolean;
  host_instance: string;
  type: SessionType;
  /** As the user gave it (shown in `list`). */
  command: string;
  /** The resolved executable, when it differs from `command`. */
  file?: string;
  args: string[];
  cwd: string;
  /** The child's complete environment (already cleaned by sessionEnv). */
  env: Record<string, string>;
  cols: number;
  rows: number;
  term: string;
  /** The request id of the spawn that started it (told to the daemon in every hello). */
  spawn_request_id?: string;
  /** Record the session as an asciicast from its start (spawn/wrap --record). */
  record?: RecordSpec;
  /** Its groups (issue 21: spawn/wrap --tag), told to the daemon in every hello (a daemon that knows the session keeps its own). */
  tags?: string[];
  /** Arguments telepty adds for its hooks (`--settings <file>` for Claude Code): given to the program, not shown as its args. */
  hook_args?: string[];
}

/** The terminal type a session gets when its caller's says nothing useful (unset or "dumb"). */
export const DEFAULT_TERM = 'xterm-256color';

/** Bounds of a spec's fields: the daemon checked the request already; these only refuse what no PTY can take. */
const SPEC_LIMITS = { argsMax: 1024 * 1024, sizeMax: 0xffff } as const;

const SESSION_TYPES: readonly SessionType[] = ['spawned', 'wrapped'];

function required<T>(value: T | undefined, key: string): T {
  if (value === undefined) throw new TeleptyError('INVALID_FIELD', `"${key}" is required`, { field: key });
  return value;
}

function stringRecord(o: Fields, key: string): Record<string, string> {
  const v = o[key];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new TeleptyError('INVALID_FIELD', `"${key}" must be an object of strings`, { field: key });
  }
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(v)) {
    if (typeof value !== 'string') throw new TeleptyError('INVALID_FIELD', `"${key}.${k}" must be a string`, { field: key });
    out[k] = value;
  }
  return out;
}

/**
 * The HostSpec in `value` (parsed JSON), every field checked: a bad spec is a TeleptyError naming the field, never
 * a host that starts half-configured.
 */
export function parseHostSpec(value: unknown): HostSpec {
  try {
    const o = expectObject(value, 'the host spec');
    const type = reqString(o, 'type');
    if (!(SESSION_TYPES as readonly string[]).includes(type)) {
      throw new TeleptyError('INVALID_FIELD', `"type" must be one of ${SESSION_TYPES.join(', ')}`, { field: 'type' });
    }
    const file = optString(o, 'file', { min: 1, noNul: true });
    const spawnRequestId = optString(o, 'spawn_request_id', { min: 1 });
    const record = o.record === undefined || o.record === null ? undefined : parseRecordSpec(o.record);
    const hookArgs = optStringArray(o, 'hook_args', 8, { noNul: true });
    const tags = parseTags(o.tags);
    return {
      session_id: assertSessionId(o.session_id, '"session_id"'),
      id_flexible: required(optBool(o, 'id_flexible'), 'id_flexible'),
      host_instance: reqString(o, 'host_instance', { min: 1 }),
      type: type as SessionType,
      command: reqString(o, 'command', { min: 1, noNul: true }),
      ...(file !== undefined ? { file } : {}),
      args: required(optStringArray(o, 'args', SPEC_LIMITS.argsMax, { noNul: true }), 'args'),
      cwd: reqString(o, 'cwd', { min: 1, noNul: true }),
      env: stringRecord(o, 'env'),
      cols: required(optInt(o, 'cols', 1, SPEC_LIMITS.sizeMax), 'cols'),
      rows: required(optInt(o, 'rows', 1, SPEC_LIMITS.sizeMax), 'rows'),
      term: reqString(o, 'term', { min: 1 }),
      ...(spawnRequestId !== undefined ? { spawn_request_id: spawnRequestId } : {}),
      ...(record !== undefined ? { record } : {}),
      ...(hookArgs !== undefined && hookArgs.length > 0 ? { hook_args: hookArgs } : {}),
      ...(tags !== undefined && tags.length > 0 ? { tags } : {}),
    };
  } catch (err) {
    if (err instanceof TeleptyError) {
      throw new TeleptyError(err.code, `invalid host spec: ${err.message}`, err.details);
    }
    throw err;
  }
}

/** The spec in a host's stdin text: not JSON, or not a spec, is a TeleptyError saying which. */
export function parseHostSpecText(text: string): HostSpec {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new TeleptyError('INVALID_FIELD', `invalid host spec: not JSON (${(err as Error).message})`);
  }
  return parseHostSpec(value);
}

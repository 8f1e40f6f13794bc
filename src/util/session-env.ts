import { DEFAULT_TERM } from '../protocol/host-spec.js';

/** Variables that make a nested agent think it runs inside another agent (PROTOCOL.md): never passed on. */
const NESTED_AGENT_VARS = new Set(['CLAUDECODE', 'CODEX_CI', 'CODEX_THREAD_ID']);
const NESTED_AGENT_PREFIXES = ['CLAUDECODE_'];

/** The child's environment: base + extra, nested-agent variables removed, TELEPTY_SESSION_ID set. */
export function sessionEnv(base: NodeJS.ProcessEnv, extra: Record<string, string>, sessionId: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...base, ...extra })) {
    if (v === undefined) continue;
    if (NESTED_AGENT_VARS.has(k) || NESTED_AGENT_PREFIXES.some((p) => k.startsWith(p))) continue;
    env[k] = v;
  }
  env.TELEPTY_SESSION_ID = sessionId;
  if (!env.TERM || env.TERM === 'dumb') env.TERM = DEFAULT_TERM;
  return env;
}

/** The terminal type of a session started from a terminal whose TERM is `term`. */
export function sessionTerm(term: string | undefined): string {
  return term && term !== 'dumb' ? term : DEFAULT_TERM;
}

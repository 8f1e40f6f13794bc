import { TeleptyError } from '../protocol/errors.js';

/**
 * What a server offers: `readOnly` leaves only the reading tools (list_sessions, read_screen, wait_for,
 * tail_events); `allow` adds the tools that start or end processes (spawn_session, kill_session), hidden otherwise.
 */
export interface Access {
  readOnly: boolean;
  allow: ReadonlySet<Guarded>;
}

const GUARDED = ['spawn', 'kill'] as const;
export type Guarded = (typeof GUARDED)[number];

function isGuarded(word: string): word is Guarded {
  return (GUARDED as readonly string[]).includes(word);
}

/** `spawn,kill` (from --allow and TELEPTY_MCP_ALLOW, added up). An unknown name is a usage error. */
export function parseAllow(...lists: (string | undefined)[]): Set<Guarded> {
  const out = new Set<Guarded>();
  for (const list of lists) {
    for (const word of (list ?? '').split(',').map((w) => w.trim()).filter(Boolean)) {
      if (!isGuarded(word)) throw new TeleptyError('INVALID_FIELD', `--allow and TELEPTY_MCP_ALLOW take ${GUARDED.join(', ')} (comma separated), got ${JSON.stringify(word)}`);
      out.add(word);
    }
  }
  return out;
}

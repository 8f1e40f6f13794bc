import { processEnv } from '../util/config.js';
import type { SessionObject } from '../protocol/session.js';
import { readProcStat } from '../util/process.js';

/** How far up the process tree to look for the session's program or host (a shell in a shell in an agent…). */
const MAX_ANCESTORS = 64;

/** The parent pid of `pid` from /proc, or null when it cannot be read (gone, or not Linux). */
async function parentOf(pid: number): Promise<number | null> {
  const ppid = (await readProcStat(pid))?.ppid;
  return ppid !== undefined && Number.isInteger(ppid) && ppid > 0 ? ppid : null;
}

/** This process and its ancestors, nearest first (just this process where /proc is not there). */
export async function ancestry(start: number = process.pid): Promise<number[]> {
  const chain = [start];
  for (let pid: number | null = start; chain.length < MAX_ANCESTORS; ) {
    pid = await parentOf(pid);
    if (pid === null || chain.includes(pid)) break;
    chain.push(pid);
  }
  return chain;
}

export interface CurrentSession {
  session: SessionObject;
  /** How it was found: by the process tree (always true, also after a rename), or by $TELEPTY_SESSION_ID. */
  via: 'process' | 'env';
  /** $TELEPTY_SESSION_ID when it names another id than the session's own (it was renamed after this shell started). */
  staleEnvId: string | null;
}

/**
 * The session this process runs in: the one whose program or host is this process or an ancestor (true after a
 * rename, which a running shell's $TELEPTY_SESSION_ID cannot follow), else the one $TELEPTY_SESSION_ID names.
 */
export async function findCurrentSession(sessions: SessionObject[], env: NodeJS.ProcessEnv = processEnv()): Promise<CurrentSession | null> {
  const envId = env.TELEPTY_SESSION_ID ?? null;
  const chain = await ancestry();
  for (const pid of chain) {
    const session = sessions.find((s) => s.pid === pid || s.host_pid === pid);
    if (session) return { session, via: 'process', staleEnvId: envId !== null && envId !== session.id ? envId : null };
  }
  const named = envId === null ? undefined : sessions.find((s) => s.id === envId);
  return named ? { session: named, via: 'env', staleEnvId: null } : null;
}

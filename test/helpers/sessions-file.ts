import type { PersistedSession } from '../../src/daemon/sessions/store.js';

/**
 * A session as sessions.json keeps it: a disconnected wrapped bash, created and last active at `at`; `over`
 * changes any field.
 */
export function persistedSession(id: string, at: number, over: Partial<PersistedSession> = {}): PersistedSession {
  return {
    id,
    host_instance: `instance-of-${id}-0000000000`,
    type: 'wrapped',
    command: 'bash',
    args: [],
    cwd: '/tmp',
    term: 'xterm-256color',
    createdAt: new Date(at).toISOString(),
    lastActivityAt: new Date(at).toISOString(),
    pid: 11,
    host_pid: 10,
    cols: 80,
    rows: 24,
    status: 'disconnected',
    exit_code: null,
    exited_at: null,
    kill_pending: false,
    last_from: null,
    last_reply_to: null,
    last_thread_id: null,
    ...over,
  };
}

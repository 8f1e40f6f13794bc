import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { renderTable } from '../../../src/commands/list.js';
import type { SessionObject } from '../../../src/protocol/session.js';

function session(id: string, over: Partial<SessionObject> = {}): SessionObject {
  return {
    id,
    locator: { machine_id: 'm', session_id: id, project_id: null },
    type: 'spawned',
    command: 'claude',
    cwd: '/tmp',
    createdAt: new Date(0).toISOString(),
    lastActivityAt: new Date(0).toISOString(),
    idleSeconds: 5,
    active_clients: 0,
    status: 'connected',
    pid: 1,
    host_pid: 2,
    args: [],
    term: 'xterm-256color',
    cols: 80,
    rows: 24,
    bracketed_paste: false,
    alt_screen: false,
    exit_code: null,
    last_from: null,
    last_reply_to: null,
    last_thread_id: null,
    lastInjectFrom: null,
    lastInjectReplyTo: null,
    alias: null,
    ...over,
  };
}

const LONG_CWD = `${os.homedir()}/work/a-rather-long-project-name/packages/some-deeply-nested-package/src/modules/auth`;
const sessions = [
  session('dev-001', { cwd: LONG_CWD, args: ['--model', 'opus', '--append-system-prompt', 'You review code carefully'] }),
  session('shell', { command: 'sh', args: ['-c', 'echo hi; exit 7'], status: 'exited', exit_code: 7, type: 'wrapped', cwd: os.homedir() }),
];

describe('list table', () => {
  it('keeps every character when there is no width limit (piped), and quotes arguments as a shell would', async () => {
    const lines = await renderTable(sessions, { color: false, width: null });
    expect(lines[0]?.split(/\s{2,}/)).toEqual(['ID', 'TYPE', 'STATUS', 'COMMAND', 'CWD', 'IDLE', 'CLIENTS']);
    expect(lines[1]).toContain("claude --model opus --append-system-prompt 'You review code carefully'");
    expect(lines[1]).toContain('~/work/a-rather-long-project-name/packages/some-deeply-nested-package/src/modules/auth');
    expect(lines[2]).toContain("sh -c 'echo hi; exit 7'");
    expect(lines[2]).toMatch(/ ~ /);
  });

  it('at 40 columns keeps ID, STATUS and a cut COMMAND', async () => {
    const lines = await renderTable(sessions, { color: false, width: 40 });
    expect(lines[0]?.split(/\s{2,}/)).toEqual(['ID', 'STATUS', 'COMMAND']);
  });

  for (const width of [130, 70, 40]) {
    it(`fits ${width} columns: no line wraps, ids and statuses stay whole`, async () => {
      const lines = await renderTable(sessions, { color: false, width });
      for (const l of lines) expect([...l].length, l).toBeLessThanOrEqual(width);
      expect(lines[1]).toMatch(/^dev-001\s/);
      expect(lines[1]).toContain('connected');
      expect(lines[2]).toMatch(/^shell\s/);
      expect(lines[2]).toContain('exited(7)');
    });
  }

  it('at 130 columns cuts the path from its start and keeps all columns', async () => {
    const lines = await renderTable(sessions, { color: false, width: 130 });
    expect(lines[0]?.split(/\s{2,}/)).toEqual(['ID', 'TYPE', 'STATUS', 'COMMAND', 'CWD', 'IDLE', 'CLIENTS']);
    expect(lines[1]).toMatch(/…[^ ]*\/modules\/auth/);
  });

  it('at 70 columns drops CLIENTS and TYPE first and cuts the command with an ellipsis', async () => {
    const lines = await renderTable(sessions, { color: false, width: 70 });
    const header = lines[0]?.split(/\s{2,}/) ?? [];
    expect(header).toEqual(['ID', 'STATUS', 'COMMAND', 'CWD', 'IDLE']);
    expect(lines[1]).toMatch(/claude --model[^ ]* .*…/);
  });

  it('marks the session the command runs in, only when it is listed', async () => {
    const inside = await renderTable(sessions, { color: false, width: null, current: 'shell' });
    expect(inside[2]).toMatch(/^\*  shell\s/);
    expect(inside[1]).toMatch(/^ {3}dev-001\s/);
    const outside = await renderTable(sessions, { color: false, width: null, current: 'elsewhere' });
    expect(outside[1]).toMatch(/^dev-001\s/);
  });

  it('shows a STATE column when the daemon reports agent states, kept while CLIENTS and TYPE are dropped', async () => {
    const withState = [session('dev-001', { state: 'blocked', state_detail: 'Do you want to proceed?' }), session('shell', { state: 'unknown', command: 'sh' })];
    const wide = await renderTable(withState, { color: false, width: null });
    expect(wide[0]?.split(/\s{2,}/)).toEqual(['ID', 'TYPE', 'STATUS', 'STATE', 'COMMAND', 'CWD', 'IDLE', 'CLIENTS']);
    expect(wide[1]).toMatch(/connected\s+blocked\s+claude/);
    const untold = [session('sh', { state: 'unknown', command: 'sh' }), session('old', { state: 'exited', status: 'exited', exit_code: 0 })];
    expect((await renderTable(untold, { color: false, width: null }))[0]).not.toContain('STATE');
    const narrow = await renderTable(withState, { color: false, width: 50 });
    expect(narrow[0]?.split(/\s{2,}/)).toEqual(['ID', 'STATUS', 'STATE', 'COMMAND', 'CWD', 'IDLE']);
  });
});

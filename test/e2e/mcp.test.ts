import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJson, runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { BIN, ROOT, sleep, testEnv, waitFor } from '../helpers/env.js';
import { FIXTURES, fixtureSession } from '../helpers/fixtures.js';
import { natsServerPath, useTwoMachines } from '../helpers/nats.js';
import { crashedSession } from '../helpers/sessions.js';

/**
 * `telepty mcp` as an agent's host runs it: a child process on stdio, driven by the MCP SDK's own client, against
 * a real daemon (started by the first tool call) and real fixture sessions.
 */
const homes = useHomes();
const clients: Client[] = [];

interface ToolAnswer {
  text: string;
  isError: boolean;
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

async function mcpClient(home: string, args: string[] = [], opts: { env?: Record<string, string>; modern?: boolean } = {}): Promise<Client> {
  const client = new Client({ name: 'telepty-test', version: '1.0.0' }, opts.modern ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {});
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp', ...args], env: stringEnv(testEnv(home, opts.env)), stderr: 'pipe' }));
  clients.push(client);
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolAnswer> {
  const r = await client.callTool({ name, arguments: args }, { timeout: 60_000 });
  const first = Array.isArray(r.content) ? r.content[0] : undefined;
  const text = first && typeof first === 'object' && 'text' in first && typeof first.text === 'string' ? first.text : '';
  return { text, isError: r.isError === true };
}

async function callJson<T = Record<string, unknown>>(client: Client, name: string, args: Record<string, unknown> = {}): Promise<T> {
  const r = await call(client, name, args);
  expect(r.isError, r.text).toBe(false);
  return JSON.parse(r.text) as T;
}

async function toolNames(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name).sort();
}

/** wait_for reads the screen at once, then every 250 ms (WAIT_POLL_MS): this long after the call, both waits are under way. */
const WAITS_UNDER_WAY_MS = 500;

const READING = ['get_state', 'list_sessions', 'read_screen', 'tail_events', 'wait_for', 'wait_for_state'];
const DEFAULT_TOOLS = [...READING, 'inject', 'publish_event', 'rename_session', 'send_keys'].sort();

afterAll(async () => {
  for (const c of clients) await c.close();
});

describe('telepty mcp: the tool list', () => {
  it('offers the reading and acting tools, hides spawn and kill, and serves both protocol eras', async () => {
    const home = homes.newHome();
    const legacy = await mcpClient(home);
    expect(legacy.getNegotiatedProtocolVersion()).toBe('2025-11-25');
    expect(await toolNames(legacy)).toEqual(DEFAULT_TOOLS);
    const modern = await mcpClient(home, [], { modern: true });
    expect(modern.getProtocolEra()).toBe('modern');
    expect(await toolNames(modern)).toEqual(DEFAULT_TOOLS);
    expect(await callJson(modern, 'list_sessions')).toEqual([]); // a call in the 2026-07-28 era (it starts the daemon)
    for (const t of (await legacy.listTools()).tools) expect(t.description?.length ?? 0, t.name).toBeGreaterThan(40);
  });

  it('--read-only offers only the reading tools (even with --allow)', async () => {
    const c = await mcpClient(homes.newHome(), ['--read-only', '--allow', 'spawn,kill']);
    expect(await toolNames(c)).toEqual(READING);
    // Not only unlisted: a call to an acting tool is refused, and nothing is typed.
    await expect(c.callTool({ name: 'inject', arguments: { id: 'any', text: 'hi' } })).rejects.toThrow(/Tool inject not found/);
    await expect(c.callTool({ name: 'kill_session', arguments: { id: 'any' } })).rejects.toThrow(/not found/);
  });

  it('--allow spawn,kill and TELEPTY_MCP_ALLOW add spawn_session and kill_session', async () => {
    const home = homes.newHome();
    expect(await toolNames(await mcpClient(home, ['--allow', 'spawn,kill']))).toEqual([...DEFAULT_TOOLS, 'kill_session', 'spawn_session'].sort());
    expect(await toolNames(await mcpClient(home, [], { env: { TELEPTY_MCP_ALLOW: 'kill' } }))).toEqual([...DEFAULT_TOOLS, 'kill_session'].sort());
  });

  it('an unknown --allow name is a usage error (exit 2), before serving anything', async () => {
    const r = await runCli(homes.newHome(), ['mcp', '--allow', 'rm']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/spawn, kill/);
  });
});

describe('telepty mcp: the tools against a real daemon', () => {
  let home: string;
  let client: Client;
  let agent: Awaited<ReturnType<typeof fixtureSession>>;

  beforeAll(async () => {
    home = homes.newHome();
    client = await mcpClient(home, ['--allow', 'spawn,kill']);
    // The first tool call starts the daemon, as every command does.
    expect(await callJson<unknown[]>(client, 'list_sessions')).toEqual([]);
    agent = await fixtureSession(home, 'mcp-a', 'line-reader.mjs');
  });

  it('list_sessions: id, status, command, cwd, idle; all: true adds the machine', async () => {
    const rows = await callJson<Record<string, unknown>[]>(client, 'list_sessions');
    expect(rows).toEqual([expect.objectContaining({ id: 'mcp-a', status: 'connected', cwd: expect.any(String), idle_seconds: expect.any(Number) })]);
    expect(String(rows[0]?.command)).toContain('line-reader.mjs');
    const all = await callJson<Record<string, unknown>[]>(client, 'list_sessions', { all: true });
    expect(all).toEqual([expect.objectContaining({ id: expect.stringMatching(/^mcp-a@/), machine: expect.any(String) })]);
  });

  it('inject submits (the fixture logs it), and wait_for from its cursor returns when the answer appears', async () => {
    const r = await callJson<{ status: string; cursor: string }>(client, 'inject', { id: 'mcp-a', text: 'first prompt' });
    expect(r.status).toBe('submitted');
    expect((await agent.submissions()).map((s) => s.text)).toEqual(['first prompt']);
    const w = await callJson<{ outcome: string; line: string; cursor: string }>(client, 'wait_for', { id: 'mcp-a', pattern: 'submitted #\\d+: 12 chars', regex: true, cursor: r.cursor, timeout_ms: 10_000 });
    expect(w).toEqual(expect.objectContaining({ outcome: 'matched', line: '[line] submitted #1: 12 chars' }));
  });

  it('inject no_enter types without submitting; an empty text presses Enter', async () => {
    const r = await callJson<{ status: string }>(client, 'inject', { id: 'mcp-a', text: 'typed only', no_enter: true });
    expect((await agent.submissions()).map((s) => s.text)).toEqual(['first prompt']);
    expect(r.status).toBe('written');
    expect((await call(client, 'read_screen', { id: 'mcp-a', lines: 1 })).text).toContain('line> typed only');
    expect(await callJson<{ status: string }>(client, 'inject', { id: 'mcp-a', text: '' })).toEqual(expect.objectContaining({ status: 'submitted' }));
    await waitFor('the typed line submitted', async () => (await agent.submissions()).some((s) => s.text === 'typed only'));
  });

  it('read_screen: the rendered screen and a cursor; with the cursor only what is new', async () => {
    const first = await call(client, 'read_screen', { id: 'mcp-a' });
    expect(first.isError).toBe(false);
    expect(first.text).toContain('line ready');
    const cursor = /cursor (c\d+)/.exec(first.text)?.[1];
    expect(cursor).toBeDefined();
    const unchanged = await call(client, 'read_screen', { id: 'mcp-a', cursor });
    expect(unchanged.text).toMatch(/· 0 new lines ·/);
    expect(unchanged.text).not.toContain('line ready');
    await callJson(client, 'inject', { id: 'mcp-a', text: 'third' });
    const next = await call(client, 'read_screen', { id: 'mcp-a', cursor });
    expect(next.text).toContain('submitted #3: 5 chars');
    expect(next.text).not.toContain('line ready');
  });

  it('wait_for: returns at once for text already on the screen, times out cleanly, and reports an exit', async () => {
    expect(await callJson(client, 'wait_for', { id: 'mcp-a', pattern: 'line ready', timeout_ms: 5_000 })).toEqual(expect.objectContaining({ outcome: 'matched' }));
    const started = Date.now();
    const t = await callJson<{ outcome: string; last_lines: string[] }>(client, 'wait_for', { id: 'mcp-a', pattern: 'never printed', timeout_ms: 600 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(t.outcome).toBe('timeout');
    expect(t.last_lines.join('\n')).toContain('line>');

    // A program that ends on its own while wait_for waits: the outcome is its exit, with its code.
    const ender = 'setTimeout(() => process.exit(3), 1500)';
    await callJson(client, 'spawn_session', { id: 'mcp-exit', command: process.execPath, args: ['-e', ender] });
    const ended = await callJson<{ outcome: string; exit_code?: number | null }>(client, 'wait_for', { id: 'mcp-exit', until_exit: true, timeout_ms: 20_000 });
    expect(ended).toEqual(expect.objectContaining({ outcome: 'exited', exit_code: 3 }));
  });

  it('wait_for waits through its session\'s host dying (kill -9): the outcome is the exit, not a disconnected error', async () => {
    const s = await callJson<{ session_id: string }>(client, 'spawn_session', { id: 'mcp-host-dies', command: 'sleep', args: ['60'] });
    const hostPid = parseJson<{ id: string; host_pid: number }[]>(await runCli(home, ['list', '--json'])).find((x) => x.id === s.session_id)?.host_pid;
    const [pattern, untilExit] = await Promise.all([
      call(client, 'wait_for', { id: s.session_id, pattern: 'never printed', timeout_ms: 20_000 }),
      call(client, 'wait_for', { id: s.session_id, until_exit: true, timeout_ms: 20_000 }),
      // Both waits are under way (their first screen read is a few ms) when the host dies.
      sleep(WAITS_UNDER_WAY_MS).then(() => process.kill(hostPid as number, 'SIGKILL')),
    ]);
    // Before: the read in between, while the session was disconnected, ended both with SESSION_DISCONNECTED.
    for (const r of [pattern, untilExit]) {
      expect(r.isError, r.text).toBe(false);
      expect(JSON.parse(r.text)).toEqual(expect.objectContaining({ outcome: 'exited', exit_code: null }));
    }
  });

  it('errors are tool errors carrying telepty\'s code', async () => {
    const missing = await call(client, 'read_screen', { id: 'no-such-session' });
    expect(missing.isError).toBe(true);
    expect(missing.text).toMatch(/^SESSION_NOT_FOUND: /);
    const inject = await call(client, 'inject', { id: 'no-such-session', text: 'hi' });
    expect(inject).toEqual({ isError: true, text: expect.stringMatching(/^SESSION_NOT_FOUND: /) });
    // Checked by the operation's own parser: nothing is typed.
    const control = await call(client, 'inject', { id: 'mcp-a', text: 'a\u0007b' });
    expect(control).toEqual({ isError: true, text: expect.stringMatching(/^INVALID_FIELD: "prompt" contains control characters/) });
    expect(await call(client, 'read_screen', { id: 'mcp-a', lines: 0 })).toEqual({ isError: true, text: expect.stringMatching(/^INVALID_FIELD: "lines"/) });
    expect(await call(client, 'read_screen', { id: 'mcp-a', cursor: 'c999999' })).toEqual({ isError: true, text: expect.stringMatching(/^INVALID_FIELD: unknown cursor/) });
    expect(await call(client, 'rename_session', { id: 'mcp-a', new_id: 'bad id!' })).toEqual({ isError: true, text: expect.stringMatching(/^INVALID_SESSION_ID: /) });
    expect(await call(client, 'wait_for', { id: 'mcp-a', pattern: '(', regex: true })).toEqual({ isError: true, text: expect.stringMatching(/^INVALID_FIELD: "pattern"/) });
    expect((await agent.submissions()).map((s) => s.text)).not.toContain('a\u0007b');
  });

  it('every answer is capped, with a note: a caller\'s smaller cap, and the server\'s own', async () => {
    const small = await call(client, 'read_screen', { id: 'mcp-a', scrollback: true, max_lines: 2 });
    expect(small.text.split('\n')).toHaveLength(3); // the head line, one screen line, the note
    expect(small.text).toMatch(/\[cut: \d+ earlier lines left out \(limits 2 lines/);
    // 600 rows of 70 characters: more than the server gives in one answer, whatever the caller asks for.
    const printer = "for (let i = 0; i < 600; i++) console.log('row ' + i + ' ' + 'z'.repeat(60)); setInterval(() => {}, 1000)";
    await callJson(client, 'spawn_session', { id: 'mcp-big', command: process.execPath, args: ['-e', printer] });
    await callJson(client, 'wait_for', { id: 'mcp-big', pattern: 'row 599 ', timeout_ms: 10_000 });
    const big = await call(client, 'read_screen', { id: 'mcp-big', scrollback: true, max_chars: 10_000_000, max_lines: 10_000_000 });
    expect(big.isError).toBe(false);
    expect(big.text.length).toBeLessThanOrEqual(20_000 + 400);
    expect(big.text).toMatch(/\[cut: .*left out \(limits 400 lines, 20000 characters\)\]$/);
    expect(big.text).toContain('row 599 '); // the newest lines are kept
    await callJson(client, 'kill_session', { id: 'mcp-big' });
    const list = await call(client, 'list_sessions', { max_chars: 40 });
    expect(list.text).toMatch(/\[cut: .*characters left out/);
  });

  it('publish_event and tail_events: bounded, resumable with since', async () => {
    const ack = await callJson<{ seq: number }>(client, 'publish_event', { kind: 'mcp.test', target: 'mcp-a', payload: { n: 1 } });
    expect(ack.seq).toBeGreaterThan(0);
    await callJson(client, 'publish_event', { kind: 'mcp.test', payload: { n: 2 } });
    const tail = await call(client, 'tail_events', { kinds: ['mcp.test'], since: 0, count: 1, timeout_ms: 5_000 });
    const [head, ...events] = tail.text.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events).toEqual([expect.objectContaining({ kind: 'mcp.test', seq: ack.seq, payload: { n: 1 } })]);
    expect(head).toEqual(expect.objectContaining({ next_since: ack.seq, returned: 1 }));
    const rest = await call(client, 'tail_events', { kinds: ['mcp.test'], since: head?.next_since, count: 5, timeout_ms: 500 });
    const restEvents = rest.text.split('\n').slice(1).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(restEvents).toEqual([expect.objectContaining({ kind: 'mcp.test', payload: { n: 2 } })]);
    const started = Date.now();
    const none = await call(client, 'tail_events', { kinds: ['nothing.here'], timeout_ms: 300 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(JSON.parse(none.text)).toEqual(expect.objectContaining({ returned: 0 }));
    expect(await call(client, 'publish_event', { kind: 'bad kind!' })).toEqual({ isError: true, text: expect.stringMatching(/^INVALID_EVENT: /) });
  });

  it('tail_events refuses an empty target, source or kind instead of taking it as no filter (every event)', async () => {
    await callJson(client, 'publish_event', { kind: 'mcp.unasked', target: 'not-me' });
    for (const filter of [{ target: '' }, { source: '' }, { kinds: [''] }]) {
      const r = await call(client, 'tail_events', { ...filter, since: 0, count: 1, timeout_ms: 300 });
      expect(r.isError, JSON.stringify(filter)).toBe(true);
    }
  });

  it('spawn_session, rename_session and kill_session', async () => {
    const spawned = await callJson<{ session_id: string; pid: number }>(client, 'spawn_session', { id: 'mcp-s', command: process.execPath, args: [path.join(FIXTURES, 'line-reader.mjs')] });
    expect(spawned.session_id).toBe('mcp-s');
    expect(await callJson(client, 'wait_for', { id: 'mcp-s', pattern: 'line ready', timeout_ms: 10_000 })).toEqual(expect.objectContaining({ outcome: 'matched' }));
    expect(await callJson(client, 'rename_session', { id: 'mcp-s', new_id: 'mcp-t' })).toEqual(expect.objectContaining({ old_id: 'mcp-s', new_id: 'mcp-t' }));
    expect(await callJson(client, 'kill_session', { id: 'mcp-t' })).toEqual(expect.objectContaining({ status: 'killed' }));
    expect((await callJson<{ id: string }[]>(client, 'list_sessions')).map((s) => s.id)).not.toContain('mcp-t');
  });
});

describe('telepty mcp: kept off every other command', () => {
  it('`telepty list` and the inject fast path load no MCP code', async () => {
    const home = homes.newHome();
    expect((await runCli(home, ['daemon', 'start'])).exitCode).toBe(0);
    const file = path.join(home, 'loads-list.txt');
    const r = await execa(process.execPath, ['--import', path.join(ROOT, 'test', 'fixtures', 'record-loads.mjs'), BIN, 'list'], {
      env: testEnv(home, { TELEPTY_TEST_LOADS_FILE: file }),
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    expect(r.exitCode).toBe(0);
    const loaded = (await fs.readFile(file, 'utf8')).split('\n').filter(Boolean);
    expect(loaded.some((u) => u.includes('dist/commands/list.js')), 'the recorder saw the list command').toBe(true);
    expect(loaded.filter((u) => u.includes('/dist/mcp/') || u.includes('@modelcontextprotocol') || u.includes('/zod/') || u.includes('commands/mcp.js'))).toEqual([]);
    // The inject fast path is one bundled file: it carries nothing of the MCP server.
    const bundle = await fs.readFile(path.join(ROOT, 'dist', 'bundle', 'inject.cjs'), 'utf8');
    expect(bundle).not.toMatch(/modelcontextprotocol|registerTool|dist\/mcp/);
  });
});

/** Two daemons joined through a real nats-server: an agent on desk drives a session on laptop as `id@laptop`. */
describe.skipIf(natsServerPath() === null)('telepty mcp: a session of another machine of the fleet', () => {
  const fleet = useTwoMachines(() => homes.newHome());

  it('list_sessions all: true shows it as id@laptop; inject, wait_for and read_screen reach it', async () => {
    const remote = await fixtureSession(fleet.laptop, 'far-1', 'line-reader.mjs');
    const client = await mcpClient(fleet.desk, [], { env: fleet.env.desk });
    await waitFor('desk lists far-1@laptop', async () => (await callJson<{ id: string; machine?: string }[]>(client, 'list_sessions', { all: true })).some((r) => r.id === 'far-1@laptop' && r.machine === 'laptop'), 20_000);
    const sent = await callJson<{ status: string; cursor: string | null }>(client, 'inject', { id: 'far-1@laptop', text: 'from desk' });
    expect(sent.status).toBe('submitted');
    expect(sent.cursor).not.toBeNull();
    expect((await remote.submissions()).map((s) => s.text)).toEqual(['from desk']);
    expect(await callJson(client, 'wait_for', { id: 'far-1@laptop', pattern: 'submitted #1', cursor: sent.cursor, timeout_ms: 10_000 })).toEqual(expect.objectContaining({ outcome: 'matched' }));
    expect((await call(client, 'read_screen', { id: 'far-1@laptop' })).text).toContain('[line] submitted #1: 9 chars');
    expect(await call(client, 'read_screen', { id: 'nobody@laptop' })).toEqual({ isError: true, text: expect.stringMatching(/^SESSION_NOT_FOUND: /) });
  });
});

describe('telepty mcp: a fleet out of reach', () => {
  it('list_sessions all: true is a HOST_OFFLINE tool error, not this machine\'s rows passed off as every machine\'s', async () => {
    const home = homes.newHome();
    const out = path.join(home, 'fleet');
    expect((await runCli(home, ['fleet', 'init', '--machines', 'desk,laptop', '--out', out])).exitCode).toBe(0);
    await runCli(home, ['daemon', 'stop']);
    // Credentials of another machine: the daemon is in a fleet it cannot join, so the directory cannot be read.
    const client = await mcpClient(home, [], { env: { TELEPTY_MACHINE_ID: 'solo', TELEPTY_NATS_CREDS: path.join(out, 'desk.creds.json') } });
    expect(await call(client, 'list_sessions', { all: true })).toEqual({ isError: true, text: expect.stringMatching(/^HOST_OFFLINE: this machine is not connected to the fleet now .*; list_sessions without all lists this machine's$/) });
    expect(await callJson(client, 'list_sessions')).toEqual([]);
  });
});

describe('telepty mcp: agent state tools', () => {
  it('get_state and wait_for_state follow a turn; send_keys answers a dialog', async () => {
    const home = homes.newHome();
    const client = await mcpClient(home);
    const fixture = path.join(ROOT, 'test', 'fixtures', 'claude-state-like.mjs');
    const r = await runCli(home, ['spawn', '--id', 'st', '--no-hooks', '--env', 'FIXTURE_WORK_MS=1500', '--', 'node', fixture]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await callJson(client, 'wait_for_state', { id: 'st', until: 'idle', timeout_ms: 20_000 })).toMatchObject({ state: 'idle', reached: true });
    await callJson(client, 'inject', { id: 'st', text: 'open a dialog', wait: false });
    const blocked = await callJson(client, 'wait_for_state', { id: 'st', until: 'blocked', timeout_ms: 20_000 });
    expect(blocked).toMatchObject({ state: 'blocked', detail: 'Do you want to proceed?', reached: true });
    expect(await callJson(client, 'get_state', { id: 'st' })).toMatchObject({ session_id: 'st', state: 'blocked' });
    expect(await callJson(client, 'send_keys', { id: 'st', keys: ['Down', 'Enter'] })).toMatchObject({ keys: ['Down', 'Enter'] });
    expect(await callJson(client, 'wait_for_state', { id: 'st', until: 'idle', timeout_ms: 20_000 })).toMatchObject({ state: 'idle', reached: true });
    const early = await callJson(client, 'wait_for_state', { id: 'st', until: 'blocked', timeout_ms: 300 });
    expect(early).toMatchObject({ reached: false });
    const bad = await call(client, 'send_keys', { id: 'nobody', keys: ['Enter'] });
    expect(bad.isError).toBe(true);
    // when_idle: a prompt given mid-turn is typed only once the turn is over.
    await callJson(client, 'inject', { id: 'st', text: 'first turn', wait: false });
    await callJson(client, 'wait_for_state', { id: 'st', until: 'working', timeout_ms: 10_000 });
    expect(await callJson(client, 'inject', { id: 'st', text: 'second turn', when_idle: true, timeout_ms: 20_000 })).toMatchObject({ status: 'submitted' });
    const screen = (await call(client, 'read_screen', { id: 'st' })).text;
    expect(screen.indexOf('answer: first turn')).toBeGreaterThan(-1);
    // The fixture shows each prompt it takes as "• prompt N chars": the 11 of "second turn" come after the first answer.
    expect(screen.indexOf('answer: first turn')).toBeLessThan(screen.lastIndexOf('• prompt 11 chars'));
  }, 60_000);

  it('read_screen of a session whose program exited returns its last screen, the head line saying so with its code; wait_for still answers exited', async () => {
    const home = homes.newHome();
    const client = await mcpClient(home);
    await crashedSession(home, 'crashed');
    const screen = await call(client, 'read_screen', { id: 'crashed', lines: 3 });
    expect(screen.isError, screen.text).toBe(false);
    const [head, ...lines] = screen.text.split('\n');
    expect(head).toMatch(/^\[session crashed exited \(code 3\); its last screen · 80x24 · 3 lines · cursor /);
    expect(lines).toEqual(['early-39', 'early-40', 'FATAL: widget overflow in frobnicator']);
    expect(await callJson(client, 'wait_for', { id: 'crashed', until_exit: true, timeout_ms: 5_000 })).toMatchObject({ outcome: 'exited', exit_code: 3 });
  }, 60_000);

  it('wait_for_state of a session whose program exits answers SESSION_EXITED (as `wait` exits 4), not reached: true', async () => {
    const home = homes.newHome();
    const client = await mcpClient(home);
    expect((await runCli(home, ['spawn', '--id', 'crashes', '--', 'sh', '-c', 'sleep 1; exit 3'])).exitCode).toBe(0);
    const idle = await call(client, 'wait_for_state', { id: 'crashes', until: 'idle', timeout_ms: 20_000 });
    expect(idle.isError, idle.text).toBe(true);
    expect(idle.text).toMatch(/^SESSION_EXITED: session crashes exited before it was idle/);
    expect(idle.text).toMatch(/"state":"exited".*"reached":false/);
    expect(await callJson(client, 'wait_for_state', { id: 'crashes', until: 'exited', timeout_ms: 20_000 })).toMatchObject({ state: 'exited', reached: true });
  }, 60_000);
});

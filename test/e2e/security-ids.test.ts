import { existsSync, promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { HOST_LINK_VERSION } from '../../src/protocol/host-link.js';
import { parseJson, runCli } from '../helpers/cli.js';
import { liveDaemon, useHomes } from '../helpers/daemon.js';

/** Ids that must be refused wherever an id enters: paths, shell metacharacters, huge, not UTF-8. */
const homes = useHomes();
const NOT_UTF8 = Buffer.from([0x61, 0xff, 0xfe, 0x62]);
const BAD_IDS: [string, string | Buffer][] = [
  ['path traversal', '../../x'],
  ['shell metacharacters', 'a;rm -rf'],
  ['10 KB', 'x'.repeat(10_240)],
  ['not UTF-8', NOT_UTF8],
];

function asText(id: string | Buffer): string {
  return typeof id === 'string' ? id : id.toString('latin1');
}

/** Put the id into a URL path as raw percent-encoded bytes. */
function inPath(id: string | Buffer): string {
  const bytes = typeof id === 'string' ? Buffer.from(id, 'utf8') : id;
  return [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
}

/** A JSON body with the id placed as raw bytes (so non-UTF-8 bytes really reach the daemon). */
function body(template: Record<string, unknown>, id: string | Buffer): Buffer {
  const marker = '__ID__';
  const text = JSON.stringify(template).replace(JSON.stringify(marker), '"\u0000"');
  const [before, after] = text.split('\u0000') as [string, string];
  const idBytes = typeof id === 'string' ? Buffer.from(JSON.stringify(id).slice(1, -1)) : id;
  return Buffer.concat([Buffer.from(before), idBytes, Buffer.from(after)]);
}

function request(port: number, method: string, urlPath: string, payload?: Buffer): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers: { 'content-type': 'application/json' } }, (res) => {
      let t = '';
      res.on('data', (c: Buffer) => (t += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: t ? (JSON.parse(t) as Record<string, unknown>) : {} }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

describe('ids are refused everywhere they enter', () => {
  it('over HTTP, in paths and in bodies', async () => {
    const home = homes.newHome();
    await runCli(home, ['spawn', '--id', 'valid', '--', 'sleep', '60']);
    const port = (await liveDaemon(home))?.record.port as number;
    const handoff = (await request(port, 'POST', '/api/handoff', Buffer.from('{"synthesis":{"tasks":[]}}'))).json.handoff_id as string;
    for (const [name, id] of BAD_IDS) {
      const p = inPath(id);
      // Session ids in handoff and thread records: exactly INVALID_SESSION_ID, nothing stored.
      const recordCases: [string, Buffer][] = [
        ['/api/handoff', body({ synthesis: { tasks: [] }, source_session_id: '__ID__' }, id)],
        [`/api/handoff/${handoff}/claim`, body({ agent_session_id: '__ID__' }, id)],
        ['/api/threads', body({ topic: 't', orchestrator_session_id: '__ID__' }, id)],
        ['/api/threads', body({ topic: 't', participant_session_ids: ['ok', '__ID__'] }, id)],
      ];
      for (const [urlPath, payload] of recordCases) {
        const r = await request(port, 'POST', urlPath, payload);
        expect({ status: r.status, code: r.json.code }, `${name}: POST ${urlPath} ${payload.toString('latin1').slice(0, 60)}`).toEqual({ status: 400, code: 'INVALID_SESSION_ID' });
      }
      const cases: [string, string, Buffer | undefined][] = [
        ['GET', `/api/sessions/${p}`, undefined],
        ['PATCH', `/api/sessions/${p}`, Buffer.from('{"new_id":"fine"}')],
        ['PATCH', '/api/sessions/valid', body({ new_id: '__ID__' }, id)],
        ['DELETE', `/api/sessions/${p}`, undefined],
        ['POST', `/api/sessions/${p}/inject`, Buffer.from('{"prompt":"x"}')],
        ['POST', `/api/sessions/${p}/submit`, Buffer.from('{}')],
        ['GET', `/api/sessions/${p}/screen`, undefined],
        ['POST', '/api/sessions/spawn', body({ session_id: '__ID__', command: 'sh' }, id)],
        ['POST', '/api/sessions/register', body({ session_id: '__ID__' }, id)],
        ['POST', '/api/sessions/multicast/inject', body({ session_ids: ['__ID__'], prompt: 'x' }, id)],
        ['POST', '/api/bus/publish', body({ kind: 'note', target: '__ID__' }, id)],
        ['POST', '/api/bus/publish', body({ kind: 'turn_request', target: '__ID__', payload: { prompt: 'x' } }, id)],
      ];
      for (const [method, urlPath, payload] of cases) {
        const r = await request(port, method, urlPath, payload);
        expect(r.status, `${name}: ${method} ${urlPath.slice(0, 60)}`).toBe(400);
        expect(['INVALID_SESSION_ID', 'INVALID_EVENT', 'BAD_REQUEST']).toContain(r.json.code);
      }
    }
    expect((await request(port, 'GET', '/api/handoff')).json).toEqual([expect.objectContaining({ handoff_id: handoff, status: 'pending', claimed_by: null })]);
    expect((await request(port, 'GET', '/api/threads')).json).toEqual([]);
    const sessions = (await request(port, 'GET', '/api/sessions')).json as unknown as { id: string }[];
    expect(sessions.map((s) => s.id)).toEqual(['valid']);
    // Beside the session's log, only the log of the spare host started ahead of the next spawn (spare-<hex>.log).
    expect((await fs.readdir(path.join(home, 'hosts'))).filter((n) => !/^spare-[0-9a-f]+\.log$/.test(n))).toEqual(['valid.log']);
    expect(existsSync(path.join(home, '..', 'x.log'))).toBe(false);
  });

  it('over WebSockets: viewer paths, the host link and bus events', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start']);
    const port = (await liveDaemon(home))?.record.port as number;
    for (const [name, id] of BAD_IDS) {
      const refused = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/api/sessions/${inPath(id)}`);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => resolve(101));
      });
      expect(refused, `viewer path, ${name}`).toBe(400);

      const host = new WebSocket(`ws://127.0.0.1:${port}/api/host`);
      await new Promise((r) => host.once('open', r));
      const closed = new Promise<number>((r) => host.once('close', (code) => r(code)));
      host.send(
        body(
          {
            type: 'hello',
            link_version: HOST_LINK_VERSION,
            host_instance: 'i'.repeat(32),
            session_id: '__ID__',
            id_flexible: false,
            session: { type: 'spawned', command: 'sh', args: [], cwd: '/', pid: 1, host_pid: 1, cols: 80, rows: 24, term: 'xterm', created_at: '', last_activity_at: '', bracketed_paste: false, alt_screen: false },
          },
          id,
        ),
        { binary: false },
      );
      // A text frame that is not UTF-8 is refused by the WebSocket layer itself (1007), before any handler.
      const notUtf8 = Buffer.isBuffer(id);
      expect(await closed, `host hello, ${name}`).toBe(notUtf8 ? 1007 : 4004);

      const bus = new WebSocket(`ws://127.0.0.1:${port}/api/bus?subscribe=0`);
      await new Promise((r) => bus.once('open', r));
      const answer = new Promise<Record<string, unknown>>((r) => {
        bus.once('message', (d: Buffer) => r(JSON.parse(d.toString()) as Record<string, unknown>));
        bus.once('close', (code) => r({ closed: code }));
      });
      bus.send(body({ kind: 'turn_request', target: '__ID__', payload: { prompt: 'x' } }, id), { binary: false });
      expect(await answer, `bus target, ${name}`).toMatchObject(notUtf8 ? { closed: 1007 } : { kind: 'bus.error', code: 'INVALID_EVENT' });
      bus.close();
    }
    expect(parseJson<unknown[]>(await runCli(home, ['list', '--json']))).toEqual([]);
  });

  it('on the command line', async () => {
    const home = homes.newHome();
    for (const [name, raw] of BAD_IDS) {
      const id = asText(raw);
      for (const args of [['read', id], ['kill', id], ['rename', id, 'ok'], ['rename', 'ok', id], ['attach', id], ['inject', id, 'x'], ['enter', id], ['spawn', '--id', id, '--', 'sh'], ['wrap', '--id', id, '--', 'true']]) {
        const r = await runCli(home, args);
        expect(r.exitCode, `${name}: telepty ${args[0]}`).toBe(2);
        expect(r.stderr).toMatch(/INVALID_SESSION_ID/);
      }
    }
  });
});

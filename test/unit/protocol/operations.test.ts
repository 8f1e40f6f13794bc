import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { busRoutes } from '../../../src/daemon/bus/routes.js';
import type { Bus } from '../../../src/daemon/bus/bus.js';
import { routeFor, Router, type Route } from '../../../src/daemon/http/router.js';
import { injectRoutes } from '../../../src/daemon/inject/routes.js';
import type { Injector } from '../../../src/daemon/inject/injector.js';
import type { Handoffs } from '../../../src/daemon/records/handoffs.js';
import { recordRoutes } from '../../../src/daemon/records/routes.js';
import type { Threads } from '../../../src/daemon/records/threads.js';
import { metaRoutes } from '../../../src/daemon/routes/meta.js';
import { tokenRoutes } from '../../../src/daemon/routes/token.js';
import { fleetRoutes } from '../../../src/daemon/fleet/routes.js';
import { uiRoutes } from '../../../src/daemon/ui/routes.js';
import type { AuthPolicy } from '../../../src/daemon/auth.js';
import { sessionRoutes } from '../../../src/daemon/sessions/routes.js';
import type { Sessions } from '../../../src/daemon/sessions/service.js';
import { isTeleptyError } from '../../../src/protocol/errors.js';
import {
  OPERATIONS,
  broadcastOp,
  claimHandoffOp,
  getSessionOp,
  healthOp,
  injectOp,
  killSessionOp,
  listHandoffsOp,
  listSessionsOp,
  metaOp,
  multicastOp,
  pathFor,
  publishOp,
  readScreenOp,
  renameSessionOp,
  rotateTokenOp,
  spawnSessionOp,
  stopDaemonOp,
  submitOp,
  type AnyOperation,
  type RequestParts,
} from '../../../src/protocol/operations.js';
import { ROOT } from '../../helpers/env.js';

function parts(p: Partial<Omit<RequestParts, 'query'>> & { query?: string } = {}): RequestParts {
  return { body: p.body, query: new URLSearchParams(p.query ?? ''), headers: p.headers ?? {} };
}

/** The code and message of what `parse` throws (null when it accepts). */
function refusal(op: AnyOperation, p: RequestParts): { code: string; message: string } | null {
  try {
    op.parse(p);
    return null;
  } catch (err) {
    if (!isTeleptyError(err)) throw err;
    return { code: err.code, message: err.message };
  }
}

/** Every route factory of the daemon, with services that are never called (only the routes' shapes are read). */
function daemonRoutes(): Route[] {
  const never = {} as never;
  return [
    ...sessionRoutes(never as Sessions),
    ...injectRoutes(never as Injector),
    ...busRoutes(never as Bus),
    ...recordRoutes(never as Handoffs, never as Threads),
    ...metaRoutes({ meta: () => never, requestShutdown: () => undefined }),
    ...tokenRoutes('/nonexistent/token', never as AuthPolicy, () => 0),
    ...fleetRoutes(() => never),
    ...uiRoutes(never, () => ''),
  ];
}

describe('the operations contract', () => {
  it('every HTTP route of the daemon is built from an operation, and every operation has its route', () => {
    const routes = daemonRoutes();
    const fromRoutes = routes.map((r) => `${r.operation ?? '(none)'} ${r.method} ${r.path}${r.public ? ' public' : ''}${r.localOnly ? ' local' : ''}`).sort();
    const fromOps = OPERATIONS.map((o) => `${o.name} ${o.method} ${o.path}${o.public ? ' public' : ''}${o.localOnly ? ' local' : ''}`).sort();
    expect(fromRoutes).toEqual(fromOps);
    expect(new Set(OPERATIONS.map((o) => o.name)).size).toBe(OPERATIONS.length);
    expect(new Set(OPERATIONS.map((o) => `${o.method} ${o.path}`)).size).toBe(OPERATIONS.length);
  });

  it('no daemon module declares an HTTP path of its own (only WebSocket routes do)', async () => {
    const dir = path.join(ROOT, 'src', 'daemon');
    const offenders: string[] = [];
    const walk = async (d: string): Promise<void> => {
      for (const e of await fs.readdir(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.name.endsWith('.ts')) {
          const text = await fs.readFile(p, 'utf8');
          if (/method: '[A-Z]+',\s+path: '\/api/.test(text) && !text.includes('WsRoute')) offenders.push(path.relative(dir, p));
        }
      }
    };
    await walk(dir);
    expect(offenders).toEqual([]);
  });

  it('builds request paths with encoded params', () => {
    expect(pathFor(injectOp.path, { id: 'a b/c' })).toBe('/api/sessions/a%20b%2Fc/inject');
    expect(pathFor(listSessionsOp.path, {})).toBe('/api/sessions');
    expect(killSessionOp.query?.({ wait: true }).toString()).toBe('wait=1');
    expect(readScreenOp.query?.({ lines: 5, scrollback: true, ansi: false }).toString()).toBe('lines=5&scrollback=1');
  });
});

describe('request parsers: today\'s valid requests pass, bad ones get today\'s codes', () => {
  it('sessions.list: idle_gt', () => {
    expect(listSessionsOp.parse(parts())).toBeNull();
    expect(listSessionsOp.parse(parts({ query: 'idle_gt=5' }))).toBe(5);
    expect(refusal(listSessionsOp, parts({ query: 'idle_gt=-1' }))?.code).toBe('INVALID_FIELD');
  });

  it('sessions.spawn: the body, the Idempotency-Key header and the repeat mark', () => {
    const req = spawnSessionOp.parse(parts({ body: { command: 'cat', request_id: 'r-1' }, headers: { 'x-telepty-repeat': '1' } }));
    expect(req).toEqual({ spawn: { command: 'cat', args: [], env: {}, cols: 80, rows: 24, request_id: 'r-1' }, repeat: true });
    expect(spawnSessionOp.parse(parts({ body: { command: 'cat' }, headers: { 'idempotency-key': 'k1' } })).spawn.request_id).toBe('k1');
    expect(refusal(spawnSessionOp, parts({ body: { command: '  ' } }))?.code).toBe('INVALID_COMMAND');
    expect(refusal(spawnSessionOp, parts({ body: { command: 'cat', cols: 1 } }))?.code).toBe('INVALID_FIELD');
    expect(refusal(spawnSessionOp, parts({ body: [] }))).toEqual({ code: 'INVALID_FIELD', message: 'the request body must be a JSON object' });
    expect(refusal(spawnSessionOp, parts({ body: { command: 'cat', session_id: 'bad id!' } }))?.code).toBe('INVALID_SESSION_ID');
  });

  it('sessions.rename, kill and screen', () => {
    expect(renameSessionOp.parse(parts({ body: { new_id: 'n-1' } }))).toEqual({ new_id: 'n-1' });
    expect(renameSessionOp.parse(parts({ body: { newId: 'n-2' } }))).toEqual({ new_id: 'n-2' });
    expect(refusal(renameSessionOp, parts({ body: {} }))?.code).toBe('INVALID_SESSION_ID');
    expect(killSessionOp.parse(parts({ query: 'wait=1' }))).toEqual({ wait: true });
    expect(killSessionOp.parse(parts({ query: 'wait=true' }))).toEqual({ wait: true });
    expect(killSessionOp.parse(parts())).toEqual({ wait: false });
    expect(readScreenOp.parse(parts({ query: 'lines=3&ansi=1' }))).toEqual({ lines: 3, scrollback: false, ansi: true });
    expect(refusal(readScreenOp, parts({ query: 'lines=0' }))).toEqual({ code: 'INVALID_FIELD', message: '"lines" must be an integer 1-100000' });
  });

  it('inject: a prompt, or an empty prompt that presses Enter; submit, multicast and broadcast', () => {
    const typed = injectOp.parse(parts({ body: { prompt: 'hi\r\nthere', from: 'a' }, headers: { 'idempotency-key': 'id-1' } }));
    expect(typed.kind === 'inject' && typed.request).toMatchObject({ prompt: 'hi\nthere', from: 'a', reply_to: 'a', inject_id: 'id-1', wait: false, timeout_ms: 30_000 });
    expect(injectOp.parse(parts({ body: { prompt: '' } })).kind).toBe('enter');
    expect(refusal(injectOp, parts({ body: { prompt: '', no_enter: true } }))?.code).toBe('INVALID_FIELD');
    expect(refusal(injectOp, parts({ body: { text: 'hi' } }))?.message).toMatch(/"prompt" is required/);
    expect(refusal(injectOp, parts({ body: { prompt: 'x'.repeat(1_000_001) } }))?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(refusal(injectOp, parts({ body: { prompt: 'a\x1bb' } }))?.code).toBe('INVALID_FIELD');
    expect(refusal(injectOp, parts({ body: { prompt: 'a', inject_id: 'x' }, headers: { 'idempotency-key': 'y' } }))?.message).toMatch(/differ/);
    expect(submitOp.parse(parts())).toMatchObject({ wait: false, no_enter: false });
    expect(submitOp.parse(parts({ body: { wait: true, timeout_ms: 5 } }))).toMatchObject({ wait: true, timeout_ms: 5 });
    expect(refusal(submitOp, parts({ body: { timeout_ms: 0 } }))?.code).toBe('INVALID_FIELD');
    expect(multicastOp.parse(parts({ body: { session_ids: ['a', 'a', 'b'], prompt: 'p' } })).session_ids).toEqual(['a', 'b']);
    expect(refusal(multicastOp, parts({ body: { session_ids: [], prompt: 'p' } }))?.code).toBe('INVALID_FIELD');
    expect(refusal(multicastOp, parts({ body: { session_ids: ['no way'], prompt: 'p' } }))?.code).toBe('INVALID_SESSION_ID');
    expect(broadcastOp.parse(parts({ body: { prompt: 'p' } })).prompt).toBe('p');
  });

  it('bus, records and daemon operations hand the body on (their services check it) and read their filters', () => {
    const event = { kind: 'k' };
    expect(publishOp.parse(parts({ body: event }))).toBe(event);
    expect(claimHandoffOp.parse(parts({ body: event }))).toBe(event);
    expect(listHandoffsOp.parse(parts({ query: 'status=pending' }))).toEqual({ status: 'pending' });
    expect(listHandoffsOp.parse(parts())).toEqual({ status: null });
    for (const op of [metaOp, healthOp, stopDaemonOp, rotateTokenOp, getSessionOp]) expect(op.parse(parts())).toBeUndefined();
  });
});

describe('answer guards', () => {
  const session = { id: 's', type: 'spawned', command: 'cat', cwd: '/', status: 'connected', args: [], idleSeconds: 0, active_clients: 0, pid: 3 };

  it('accept the daemon\'s answers and refuse other shapes', () => {
    expect(listSessionsOp.isAnswer([session])).toBe(true);
    expect(listSessionsOp.isAnswer([{ ...session, status: 'sleeping' }])).toBe(false);
    expect(listSessionsOp.isAnswer({ sessions: [] })).toBe(false);
    expect(spawnSessionOp.isAnswer({ session_id: 's', command: 'cat', cwd: '/', pid: 3, session })).toBe(true);
    expect(spawnSessionOp.isAnswer({ session_id: 's' })).toBe(false);
    const injected = { success: true, inject_id: 'i', session_id: 's', status: 'submitted', written_at: 'now', submitted_at: null };
    expect(injectOp.isAnswer(injected)).toBe(true);
    expect(injectOp.isAnswer({ ...injected, status: 'lost' })).toBe(false);
    expect(multicastOp.isAnswer({ success: false, results: { successful: [], failed: [{ id: 'a', code: 'SESSION_NOT_FOUND', error: 'no' }] } })).toBe(true);
    expect(multicastOp.isAnswer({ success: true, results: { successful: [{ id: 'a' }], failed: [] } })).toBe(false);
    expect(killSessionOp.isAnswer({ success: true, id: 's', status: 'killed', exit_code: 0 })).toBe(true);
    expect(publishOp.isAnswer({ success: true, seq: 1, message_id: 'm', delivered: 0 })).toBe(true);
    expect(publishOp.isAnswer({ success: true, seq: '1', message_id: 'm', delivered: 0 })).toBe(false);
    expect(healthOp.isAnswer({ status: 'ok' })).toBe(true);
    expect(stopDaemonOp.isAnswer({ success: true, pid: 1 })).toBe(true);
    expect(rotateTokenOp.isAnswer({ success: true })).toBe(false);
  });
});

describe('routeFor', () => {
  it('parses with the operation, hands the handler typed params, and answers with the operation\'s status', async () => {
    const seen: unknown[] = [];
    const router = new Router().add(
      routeFor(injectOp, (req, ctx) => {
        seen.push(ctx.params.id, req.kind);
        return { body: { success: true as const, inject_id: 'i', session_id: ctx.params.id, status: 'queued' as const, written_at: null, submitted_at: null } };
      }),
      routeFor(spawnSessionOp, () => ({ body: { session_id: 's', command: 'c', cwd: '/', pid: 1, session: {} as never } })),
    );
    const m = router.match('POST', '/api/sessions/a%2Eb/inject');
    if (m.kind !== 'found') throw new Error('no route');
    const ctx = { method: 'POST' as const, path: '', params: m.params, query: new URLSearchParams(), headers: {}, peer: '', remote: false, signal: new AbortController().signal };
    expect(await m.route.handler({ ...ctx, body: { prompt: 'hi' } })).toMatchObject({ status: 200, body: { session_id: 'a.b' } });
    expect(seen).toEqual(['a.b', 'inject']);
    const bad = await Promise.resolve(m.route.handler({ ...ctx, body: { prompt: 3 } })).then(
      () => null,
      (e: unknown) => (isTeleptyError(e) ? e.code : e),
    );
    expect(bad).toBe('INVALID_FIELD');
    const spawn = router.match('POST', '/api/sessions/spawn');
    if (spawn.kind !== 'found') throw new Error('no route');
    expect((await spawn.route.handler({ ...ctx, params: spawn.params, body: { command: 'c' } })).status).toBe(201);
  });
});

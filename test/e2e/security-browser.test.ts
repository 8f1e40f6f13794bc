import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/api.js';
import { HAS_CHROMIUM, launchChromium } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { liveDaemon, useHomes } from '../helpers/daemon.js';
import { ROOT, sleep, waitFor } from '../helpers/env.js';

/**
 * A web page in the user's browser must not be able to type into a session. A page served from another origin
 * tries everything a page can (fetch with and without CORS, a form POST, text/plain, WebSockets to a session and
 * to the bus); the test proves each attempt reached the daemon and was refused, and no session got a byte.
 */
const homes = useHomes();
/** The page's attempts end before this is measured; a prompt one of them let through would be typed within it. */
const NOTHING_TYPED_WINDOW_MS = 1_000;
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
});

function attackerPage(daemon: string, wsBase: string): string {
  return `<!doctype html><html><body><iframe name="sink"></iframe><script>
const D = ${JSON.stringify(daemon)};
const W = ${JSON.stringify(wsBase)};
const results = {};
const note = (k, v) => { results[k] = v; };
async function attempt(name, fn) { try { note(name, await fn()); } catch (e) { note(name, 'blocked: ' + e.name); } }
function ws(url, message) {
  return new Promise((resolve) => {
    const s = new WebSocket(url);
    s.onopen = () => { s.send(message); resolve('OPENED'); };
    s.onerror = () => resolve('blocked: ws error');
    setTimeout(() => resolve('blocked: ws timeout'), 3000);
  });
}
window.runAttacks = async () => {
  await attempt('fetch-json', () => fetch(D + '/api/sessions/victim/inject', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'PWNED-fetch-json' }) }).then((r) => 'status ' + r.status));
  await attempt('fetch-text-plain', () => fetch(D + '/api/sessions/victim/inject', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ prompt: 'PWNED-text-plain' }) }).then((r) => 'opaque ' + r.type));
  await attempt('fetch-bus', () => fetch(D + '/api/bus/publish', { method: 'POST', mode: 'no-cors', body: JSON.stringify({ kind: 'turn_request', target: 'victim', payload: { prompt: 'PWNED-bus-http' } }) }).then((r) => 'opaque ' + r.type));
  await attempt('fetch-bodyless-submit', () => fetch(D + '/api/sessions/victim/submit', { method: 'POST', mode: 'no-cors' }).then((r) => 'opaque ' + r.type));
  await attempt('fetch-read', () => fetch(D + '/api/sessions', { mode: 'cors' }).then((r) => r.text()));
  await attempt('form-post', () => new Promise((resolve) => {
    const f = document.createElement('form');
    f.method = 'POST'; f.action = D + '/api/sessions/victim/inject'; f.enctype = 'text/plain'; f.target = 'sink';
    const i = document.createElement('input'); i.name = '{"prompt":"PWNED-form","x":"'; i.value = '"}'; f.appendChild(i);
    document.body.appendChild(f); f.submit(); setTimeout(() => resolve('submitted'), 1000);
  }));
  await attempt('ws-session', () => ws(W + '/api/sessions/victim', JSON.stringify({ type: 'input', data: 'PWNED-ws\\r' })));
  await attempt('ws-bus', () => ws(W + '/api/bus', JSON.stringify({ kind: 'turn_request', target: 'victim', payload: { prompt: 'PWNED-ws-bus' } })));
  return results;
};
</script></body></html>`;
}

describe('browser drive-by', () => {
  it.skipIf(!HAS_CHROMIUM)('refuses every attempt from a page on another origin, and no session receives a byte', async () => {
    const home = homes.newHome();
    const log = path.join(home, 'victim.submissions');
    await runCli(home, ['spawn', '--id', 'victim', '--env', `FIXTURE_LOG=${log}`, '--', process.execPath, path.join(ROOT, 'test', 'fixtures', 'claude-like.mjs')]);
    await waitFor('victim ready', async () => (await runCli(home, ['read', 'victim'])).stdout.includes('ready'));
    const port = (await liveDaemon(home))?.record.port as number;

    const page = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(attackerPage(`http://127.0.0.1:${port}`, `ws://127.0.0.1:${port}`));
    });
    await new Promise<void>((r) => page.listen(0, '127.0.0.1', r));
    const pagePort = (page.address() as { port: number }).port;
    const origin = `http://127.0.0.1:${pagePort}`;

    // playwright gives the browser a fresh, empty profile of its own.
    browser = await launchChromium();
    const tab = await browser.newPage();
    await tab.goto(origin);
    const results = (await tab.evaluate('window.runAttacks()')) as Record<string, string>;
    await browser.close();
    browser = undefined;
    page.close();

    // What the page could see: nothing usable.
    expect(results['fetch-json']).toMatch(/^blocked/);
    expect(results['fetch-read']).toMatch(/^blocked/);
    expect(results['ws-session']).toMatch(/^blocked/);
    expect(results['ws-bus']).toMatch(/^blocked/);

    // What the session got: nothing (a prompt let through would be typed within this span).
    await sleep(NOTHING_TYPED_WINDOW_MS);
    expect(await fs.readFile(log, 'utf8').catch(() => '')).toBe('');
    expect((await runCli(home, ['read', 'victim', '--scrollback'])).stdout).not.toContain('PWNED');
    const bus = await runCli(home, ['tail', '--since', '0', '--kind', 'turn_request', '--kind', 'inject_*', '--timeout', '1', '--json']);
    expect(bus.stdout.trim()).toBe('');

    // And each attempt did reach the daemon, and was refused for its origin.
    const daemonLog = await fs.readFile(path.join(home, 'daemon.log'), 'utf8');
    const refused = daemonLog.split('\n').filter((l) => l.includes('refused') && l.includes(`(origin "${origin}")`));
    const seen = (re: RegExp): boolean => refused.some((l) => re.test(l));
    expect(seen(/refused OPTIONS \/api\/sessions\/victim\/inject/), 'CORS preflight of the JSON fetch').toBe(true);
    expect(refused.filter((l) => /refused POST \/api\/sessions\/victim\/inject/.test(l)).length, 'text/plain fetch and form POST').toBeGreaterThanOrEqual(2);
    expect(seen(/refused POST \/api\/bus\/publish/), 'bus publish').toBe(true);
    // A body-less POST is accepted for the seed's clients (no Content-Type): from a page it is still refused.
    expect(seen(/refused POST \/api\/sessions\/victim\/submit/), 'body-less submit').toBe(true);
    expect(seen(/refused GET \/api\/sessions /), 'session list read').toBe(true);
    expect(seen(/refused WebSocket \/api\/sessions\/victim/), 'session WebSocket').toBe(true);
    expect(seen(/refused WebSocket \/api\/bus/), 'bus WebSocket').toBe(true);
    for (const l of refused) expect(l).toMatch(/FORBIDDEN_ORIGIN/);
  }, 90_000);
});


/** How a WebSocket upgrade with these headers ends: 'open', or the refusal's status. */
function upgrade(port: number, urlPath: string, headers: Record<string, string>): Promise<number | 'open'> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${urlPath}`, { headers });
    ws.on('open', () => {
      ws.close();
      resolve('open');
    });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', reject);
  });
}

describe('CORS', () => {
  const ALLOWED = 'http://dashboard.example:5173';

  it('never sends a wildcard: a foreign Origin gets 403 and no allow-origin header; an allowed one gets exactly itself', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start'], { env: { TELEPTY_ALLOWED_ORIGINS: `${ALLOWED},http://other.example` } });
    const port = (await liveDaemon(home))?.record.port as number;

    for (const method of ['GET', 'OPTIONS']) {
      const foreign = await rawRequest(port, method, '/api/sessions', { headers: { origin: 'http://evil.example', 'access-control-request-method': 'GET' } });
      expect(foreign.status, method).toBe(403);
      expect(foreign.json.code).toBe('FORBIDDEN_ORIGIN');
      expect(foreign.headers['access-control-allow-origin'], method).toBeUndefined();

      const allowed = await rawRequest(port, method, '/api/sessions', { headers: { origin: ALLOWED, 'access-control-request-method': 'GET' } });
      expect(allowed.status, method).toBe(method === 'GET' ? 200 : 204);
      expect(allowed.headers['access-control-allow-origin'], method).toBe(ALLOWED);
      expect(allowed.headers.vary).toMatch(/Origin/);
    }
    // No Origin (not a browser page): no CORS header at all.
    const plain = await rawRequest(port, 'GET', '/api/sessions');
    expect(plain.status).toBe(200);
    expect(plain.headers['access-control-allow-origin']).toBeUndefined();
    // Errors for an allowed origin echo it too, never `*`.
    const missing = await rawRequest(port, 'GET', '/api/sessions/nobody', { headers: { origin: ALLOWED } });
    expect(missing.status).toBe(404);
    expect(missing.headers['access-control-allow-origin']).toBe(ALLOWED);
  });

  it('refuses a WebSocket upgrade from a foreign Origin and accepts an allowed one', async () => {
    const home = homes.newHome();
    await runCli(home, ['daemon', 'start'], { env: { TELEPTY_ALLOWED_ORIGINS: ALLOWED } });
    const port = (await liveDaemon(home))?.record.port as number;
    expect(await upgrade(port, '/api/bus', { origin: 'http://evil.example' })).toBe(403);
    expect(await upgrade(port, '/api/bus', { origin: 'null' })).toBe(403);
    expect(await upgrade(port, '/api/bus', { origin: ALLOWED })).toBe('open');
  });
});

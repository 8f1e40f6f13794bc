import { promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { UI_LOGIN_PATH, UI_PATH_PREFIX } from '../../protocol/ops/ui.js';
import { isErrno } from '../../util/files.js';
import type { Logger } from '../../util/log.js';
import { isLocalConnection } from '../auth.js';
import { UI_SESSION_TTL_MS, type UiLogins } from './login.js';

/**
 * The page may load only its own files and talk only to its own origin (fetch and WebSocket); no inline script or
 * style, no plugin, no frame around it, no form posting elsewhere.
 */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': UI_CSP,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  // Another origin cannot even load the page's files (as a script or an image).
  'cross-origin-resource-policy': 'same-origin',
};

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.map': 'application/json; charset=utf-8',
};

/** Asset names carry their content's hash (the build writes them): a browser may keep them for good. */
const ASSET_CACHE = 'public, max-age=31536000, immutable';
const ASSETS_PREFIX = `${UI_PATH_PREFIX}/assets/`;

export interface UiPagesOptions {
  /** The built page (dist/web: index.html and assets/). */
  dir: string;
  logins: UiLogins;
  log: Logger;
}

/** The cookie's name carries the port: cookies are per host, not per port, and two daemons may share 127.0.0.1. */
export function uiCookieName(req: IncomingMessage): string {
  return `telepty_ui_${req.socket.localPort ?? 0}`;
}

function cookieValue(req: IncomingMessage, name: string): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/**
 * Whether a request is the dashboard page's own call: a local browser, a live dashboard cookie, and sent from this
 * daemon's own origin (the Origin header names it; a same-origin GET carries no Origin, so Sec-Fetch-Site says so).
 * A page of any other origin, even one that makes the browser send the cookie (a port of the same host is the same
 * site), fails on its Origin.
 */
export function isUiSessionRequest(req: IncomingMessage, logins: UiLogins): boolean {
  if (!isLocalConnection(req.socket)) return false;
  const session = cookieValue(req, uiCookieName(req));
  if (session === null || !logins.isSession(session)) return false;
  const origin = req.headers.origin;
  const host = req.headers.host;
  if (host === undefined) return false;
  if (origin !== undefined) return origin.toLowerCase() === `http://${host.toLowerCase()}`;
  return req.headers['sec-fetch-site'] === 'same-origin';
}

export function isUiPath(pathname: string): boolean {
  return pathname === UI_PATH_PREFIX || pathname.startsWith(`${UI_PATH_PREFIX}/`);
}

function send(res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string>): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-length': String(Buffer.byteLength(body)), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** A short page of plain text in HTML (the login link's refusals): nothing from the request is echoed. */
function notice(res: ServerResponse, status: number, title: string, text: string): void {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>telepty: ${title}</title></head><body><h1>${title}</h1><p>${text}</p></body></html>`;
  send(res, status, html, { 'content-type': CONTENT_TYPES['.html'] as string, 'cache-control': 'no-store' });
}

/** The dashboard's pages: `/ui/` (logged-in only), `/ui/login?code=` (the one-time exchange), `/ui/assets/*`. */
export class UiPages {
  private readonly files = new Map<string, Buffer>();

  constructor(private readonly opts: UiPagesOptions) {}

  /** Serve a request under /ui (auth's Host and Origin checks already passed). */
  async serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (!isLocalConnection(req.socket)) return notice(res, 403, 'Forbidden', 'The dashboard is only served to this machine.');
    if (req.method !== 'GET' && req.method !== 'HEAD') return notice(res, 405, 'Method not allowed', 'Only GET is served here.');
    const { pathname } = url;
    if (pathname === UI_LOGIN_PATH) return this.login(req, res, url);
    if (pathname.startsWith(ASSETS_PREFIX)) return this.asset(res, pathname.slice(ASSETS_PREFIX.length));
    if (pathname === UI_PATH_PREFIX || pathname === `${UI_PATH_PREFIX}/`) {
      if (!this.hasLiveCookie(req)) {
        return notice(res, 401, 'Not logged in', 'Run <code>telepty ui</code> in a terminal of this machine: it prints a one-time link that logs this browser in.');
      }
      // Read each time (1-2 KB): after an upgrade it names the new build's assets.
      const page = await this.file('index.html', false);
      if (!page) return notice(res, 500, 'Not built', 'The dashboard was not built: run <code>npm run build</code>.');
      return send(res, 200, page, { 'content-type': CONTENT_TYPES['.html'] as string, 'cache-control': 'no-store' });
    }
    return notice(res, 404, 'Not found', 'No such page.');
  }

  /** A top-level navigation carries the cookie but neither Origin nor (on older browsers) Sec-Fetch-Site. */
  private hasLiveCookie(req: IncomingMessage): boolean {
    const session = cookieValue(req, uiCookieName(req));
    return session !== null && this.opts.logins.isSession(session);
  }

  /** Trade the code once for the cookie, then redirect so the code leaves the address bar and the history. */
  private login(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const code = url.searchParams.get('code') ?? '';
    const session = code.length > 0 && code.length <= 100 ? this.opts.logins.redeem(code) : null;
    if (session === null) {
      this.opts.log.warn('refused a dashboard login: the code is unknown, used or expired');
      return notice(res, 403, 'Link used or expired', 'A login link works once and for a minute. Run <code>telepty ui</code> again for a new one.');
    }
    const cookie = `${uiCookieName(req)}=${session}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor(UI_SESSION_TTL_MS / 1000)}`;
    res.writeHead(303, { ...SECURITY_HEADERS, location: `${UI_PATH_PREFIX}/`, 'set-cookie': cookie, 'cache-control': 'no-store', 'content-length': '0' });
    res.end();
  }

  private async asset(res: ServerResponse, name: string): Promise<void> {
    const type = CONTENT_TYPES[path.extname(name)];
    const body = /^[A-Za-z0-9._-]+$/.test(name) && type ? await this.file(`assets/${name}`) : null;
    if (!body || !type) return notice(res, 404, 'Not found', 'No such file.');
    send(res, 200, body, { 'content-type': type, 'cache-control': ASSET_CACHE });
  }

  /** A built file, assets read once (names are checked by the caller: one segment, no `..`). */
  private async file(rel: string, keep = true): Promise<Buffer | null> {
    const cached = this.files.get(rel);
    if (cached) return cached;
    try {
      const body = await fs.readFile(path.join(this.opts.dir, rel));
      if (keep) this.files.set(rel, body);
      return body;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return null;
      throw err;
    }
  }
}

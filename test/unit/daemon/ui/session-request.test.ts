import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createAuthPolicy } from '../../../../src/daemon/auth.js';
import { UiLogins } from '../../../../src/daemon/ui/login.js';
import { isUiSessionRequest } from '../../../../src/daemon/ui/pages.js';

const PORT = 3911;

/** A request as node hands it to the server: only the fields the check reads. */
function request(headers: Record<string, string>, peer = '127.0.0.1', localPort = PORT): IncomingMessage {
  const fake = { headers, socket: { remoteAddress: peer, localAddress: '127.0.0.1', localPort } };
  return fake as unknown as IncomingMessage;
}

function loggedIn(): { logins: UiLogins; cookie: string } {
  const logins = new UiLogins();
  const session = logins.redeem(logins.issueCode().code) as string;
  return { logins, cookie: `other=1; telepty_ui_${PORT}=${session}` };
}

describe("the dashboard page's own requests", () => {
  it('are those with a live cookie, from this daemon\'s own origin, on a local connection', () => {
    const { logins, cookie } = loggedIn();
    const host = `127.0.0.1:${PORT}`;
    expect(isUiSessionRequest(request({ host, cookie, origin: `http://${host}` }), logins)).toBe(true);
    expect(isUiSessionRequest(request({ host, cookie, 'sec-fetch-site': 'same-origin' }), logins)).toBe(true);
    // Another port of the same host is the same site (the browser sends the cookie) but another origin.
    expect(isUiSessionRequest(request({ host, cookie, origin: 'http://127.0.0.1:9999' }), logins)).toBe(false);
    expect(isUiSessionRequest(request({ host, cookie, 'sec-fetch-site': 'same-site' }), logins)).toBe(false);
    expect(isUiSessionRequest(request({ host, cookie }), logins)).toBe(false);
    expect(isUiSessionRequest(request({ host, origin: `http://${host}` }), logins)).toBe(false);
    expect(isUiSessionRequest(request({ host, cookie: `telepty_ui_${PORT}=forged`, origin: `http://${host}` }), logins)).toBe(false);
    expect(isUiSessionRequest(request({ host, cookie, origin: `http://${host}` }, '192.0.2.7'), logins)).toBe(false);
    // The cookie of the daemon on another port is not this one's.
    expect(isUiSessionRequest(request({ host, cookie, origin: `http://${host}` }, '127.0.0.1', 3912), logins)).toBe(false);
  });

  it('pass the Origin rule and need no token; nothing else does', () => {
    const auth = createAuthPolicy({ listenHost: '0.0.0.0', allowlist: '', token: 't', allowedOrigins: '', hostNames: [] });
    const headers = { host: `127.0.0.1:${PORT}`, origin: `http://127.0.0.1:${PORT}` };
    expect(() => auth.check({ peer: '192.0.2.7', headers, isPublic: false, uiSession: true })).not.toThrow();
    expect(() => auth.check({ peer: '127.0.0.1', headers, isPublic: false })).toThrow(expect.objectContaining({ code: 'FORBIDDEN_ORIGIN' }));
    expect(() => auth.check({ peer: '127.0.0.1', headers: { ...headers, host: 'evil.example' }, isPublic: false, uiSession: true })).toThrow(expect.objectContaining({ code: 'FORBIDDEN_HOST' }));
  });
});

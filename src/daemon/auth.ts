import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import { TeleptyError } from '../protocol/errors.js';
import { TOKEN_HEADER } from '../protocol/headers.js';
import { isLoopbackHost } from '../util/config.js';

/** Tailscale's CGNAT range (not all of 100/8). */
const TAILSCALE_V4 = { net: '100.64.0.0', prefix: 10 } as const;

export interface AuthPolicyOptions {
  /** The address the daemon listens on: Tailscale peers are trusted only beyond loopback. */
  listenHost: string;
  /** `TELEPTY_PEER_ALLOWLIST`: IPs and CIDRs, IPv4 or IPv6, comma separated. */
  allowlist: string;
  token: string;
  /** `TELEPTY_ALLOWED_ORIGINS`: exact origins a browser page may call from (none by default). */
  allowedOrigins: string;
  /** Names the Host header may carry besides loopback names and addresses (configured host, machine id, TELEPTY_ALLOWED_HOSTS). */
  hostNames: string[];
  /**
   * This machine's interface addresses (os.networkInterfaces), read when needed: a Host header naming one of
   * them is accepted only when the daemon listens beyond loopback, so a peer reaching it by IP still works.
   */
  localAddresses?: () => Iterable<string>;
}

export interface AuthRequest {
  peer: string;
  headers: IncomingHttpHeaders;
  /** Public routes (health) need no token, but still pass the browser checks. */
  isPublic: boolean;
  /**
   * The dashboard page's own call (daemon/ui/pages.ts isUiSessionRequest): a live dashboard cookie, from this
   * daemon's own origin, by a local browser. It passes like an allowed origin with a token; nothing else does.
   */
  uiSession?: boolean;
}

export interface AuthPolicy {
  /** Throws TeleptyError (401/403) unless the request may proceed. No rule falls through to "allow". */
  check(req: AuthRequest): void;
  isOriginAllowed(origin: string): boolean;
  trustsPeer(peer: string): boolean;
  /** A new token takes effect at once (telepty token --rotate). */
  setToken(token: string): void;
}

/** Loopback peers (the local user): the only ones that may rotate the token. */
export function isLoopbackPeer(peer: string): boolean {
  const ip = normalizeIp(peer);
  return ip.startsWith('127.') || ip === '::1';
}

/**
 * A connection from this machine itself, i.e. the local user: a loopback peer, or a connection this machine made
 * to one of its own addresses (a daemon listening on, say, its Tailscale IP), where the peer address is the
 * socket's own address. A remote host cannot complete a handshake with one of our addresses as its source: the
 * kernel drops such packets as martians, and the answers would be delivered locally.
 */
export function isLocalConnection(socket: { remoteAddress?: string | undefined; localAddress?: string | undefined }): boolean {
  const peer = socket.remoteAddress ?? '';
  if (isLoopbackPeer(peer)) return true;
  return peer !== '' && socket.localAddress !== undefined && normalizeIp(peer) === normalizeIp(socket.localAddress);
}

/** `::ffff:1.2.3.4` → `1.2.3.4`; strips an IPv6 zone id. */
export function normalizeIp(address: string): string {
  const a = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  return mapped ? (mapped[1] as string) : a;
}

function family(ip: string): 'ipv4' | 'ipv6' | null {
  const v = isIP(ip);
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : null;
}

export function parseAllowlist(spec: string): BlockList {
  const list = new BlockList();
  for (const raw of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [addr, prefixText] = raw.split('/') as [string, string | undefined];
    const ip = normalizeIp(addr);
    const fam = family(ip);
    if (!fam) throw new TeleptyError('INVALID_FIELD', `TELEPTY_PEER_ALLOWLIST: ${JSON.stringify(raw)} is not an IP or CIDR`);
    if (prefixText === undefined) {
      list.addAddress(ip, fam);
      continue;
    }
    const prefix = Number(prefixText);
    const max = fam === 'ipv4' ? 32 : 128;
    if (!/^\d+$/.test(prefixText) || prefix > max) {
      throw new TeleptyError('INVALID_FIELD', `TELEPTY_PEER_ALLOWLIST: bad prefix in ${JSON.stringify(raw)}`);
    }
    list.addSubnet(ip, prefix, fam);
  }
  return list;
}

function hostnameOf(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  const colon = h.lastIndexOf(':');
  return colon > 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

export function presentedToken(headers: IncomingHttpHeaders): string | null {
  const direct = headers[TOKEN_HEADER];
  if (typeof direct === 'string' && direct.length > 0) return direct;
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1] as string;
  }
  return null;
}

export function createAuthPolicy(opts: AuthPolicyOptions): AuthPolicy {
  const allow = parseAllowlist(opts.allowlist);
  const beyondLoopback = !isLoopbackHost(opts.listenHost);
  const tailscale = new BlockList();
  tailscale.addSubnet(TAILSCALE_V4.net, TAILSCALE_V4.prefix, 'ipv4');
  let expected = digest(opts.token);
  const origins = new Set(opts.allowedOrigins.split(',').map((s) => s.trim()).filter(Boolean));
  const hostNames = new Set(['localhost', ...opts.hostNames.map((h) => h.toLowerCase())]);

  const trustsPeer = (peer: string): boolean => {
    const ip = normalizeIp(peer);
    const fam = family(ip);
    if (!fam) return false;
    if (isLoopbackPeer(ip)) return true;
    if (allow.check(ip, fam)) return true;
    return beyondLoopback && fam === 'ipv4' && tailscale.check(ip, 'ipv4');
  };

  const tokenMatches = (headers: IncomingHttpHeaders): boolean => {
    const given = presentedToken(headers);
    return given !== null && timingSafeEqual(digest(given), expected);
  };

  const isLocalAddress = (name: string): boolean => {
    if (!beyondLoopback || !opts.localAddresses || isIP(normalizeIp(name)) === 0) return false;
    const wanted = normalizeIp(name).toLowerCase();
    for (const address of opts.localAddresses()) if (normalizeIp(address).toLowerCase() === wanted) return true;
    return false;
  };

  /** PROTOCOL.md: the Host header names the daemon (this stops DNS rebinding); any other name or IP is refused. */
  const hostAllowed = (hostHeader: string | undefined): boolean => {
    if (hostHeader === undefined) return true; // HTTP/1.0 clients; browsers always send Host
    const name = hostnameOf(hostHeader);
    return isLoopbackHost(name) || hostNames.has(name) || isLocalAddress(name);
  };

  return {
    trustsPeer,
    setToken: (token) => {
      expected = digest(token);
    },
    isOriginAllowed: (origin) => origins.has(origin),
    check(req) {
      if (!hostAllowed(req.headers.host)) {
        throw new TeleptyError('FORBIDDEN_HOST', 'the Host header does not name this daemon');
      }
      const origin = req.headers.origin;
      if (origin !== undefined && !origins.has(origin) && req.uiSession !== true) {
        throw new TeleptyError('FORBIDDEN_ORIGIN', 'requests from web pages are not allowed (set TELEPTY_ALLOWED_ORIGINS to allow one)');
      }
      if (req.isPublic || req.uiSession === true || trustsPeer(req.peer) || tokenMatches(req.headers)) return;
      throw new TeleptyError('UNAUTHORIZED', `a token is required from ${normalizeIp(req.peer)}: send the ${TOKEN_HEADER} header`);
    },
  };
}

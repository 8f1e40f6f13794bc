import { describe, expect, it } from 'vitest';
import { createAuthPolicy, isLocalConnection, normalizeIp, parseAllowlist } from '../../../src/daemon/auth.js';
import { codeOrNull as codeOf } from '../../helpers/errors.js';

const TOKEN = 'a'.repeat(64);

function policy(over: Partial<Parameters<typeof createAuthPolicy>[0]> = {}) {
  return createAuthPolicy({ listenHost: '127.0.0.1', allowlist: '', token: TOKEN, allowedOrigins: '', hostNames: ['127.0.0.1', 'vm'], ...over });
}

describe('auth policy', () => {
  it('trusts loopback, including v4-mapped addresses', () => {
    const p = policy();
    expect(p.trustsPeer('127.0.0.1')).toBe(true);
    expect(p.trustsPeer('::1')).toBe(true);
    expect(p.trustsPeer('::ffff:127.0.0.1')).toBe(true);
    expect(p.trustsPeer('10.0.0.5')).toBe(false);
  });

  it('trusts Tailscale 100.64.0.0/10 only when listening beyond loopback, and never the rest of 100/8', () => {
    expect(policy().trustsPeer('100.100.1.2')).toBe(false);
    const wide = policy({ listenHost: '0.0.0.0' });
    expect(wide.trustsPeer('100.100.1.2')).toBe(true);
    expect(wide.trustsPeer('::ffff:100.64.0.1')).toBe(true);
    expect(wide.trustsPeer('100.1.2.3')).toBe(false);
    expect(wide.trustsPeer('100.128.0.1')).toBe(false);
  });

  it('trusts allowlisted IPs and CIDRs, v4 and v6', () => {
    const p = policy({ allowlist: '10.1.0.0/16, 192.168.5.7, fd00::/8' });
    expect(p.trustsPeer('10.1.200.3')).toBe(true);
    expect(p.trustsPeer('::ffff:10.1.0.9')).toBe(true);
    expect(p.trustsPeer('10.2.0.1')).toBe(false);
    expect(p.trustsPeer('192.168.5.7')).toBe(true);
    expect(p.trustsPeer('fd12::1')).toBe(true);
    expect(p.trustsPeer('fe80::1')).toBe(false);
  });

  it('refuses malformed allowlist entries', () => {
    expect(() => parseAllowlist('10.0.0.0/33')).toThrow(/bad prefix/);
    expect(() => parseAllowlist('not-an-ip')).toThrow(/not an IP/);
  });

  it('requires the token from everyone else, by header or bearer, never falling through', () => {
    const p = policy();
    const peer = '10.9.9.9';
    expect(codeOf(() => p.check({ peer, headers: {}, isPublic: false }))).toBe('UNAUTHORIZED');
    expect(codeOf(() => p.check({ peer, headers: { 'x-telepty-token': 'wrong' }, isPublic: false }))).toBe('UNAUTHORIZED');
    expect(codeOf(() => p.check({ peer, headers: { 'x-telepty-token': TOKEN }, isPublic: false }))).toBeNull();
    expect(codeOf(() => p.check({ peer, headers: { authorization: `Bearer ${TOKEN}` }, isPublic: false }))).toBeNull();
    expect(codeOf(() => p.check({ peer, headers: {}, isPublic: true }))).toBeNull();
    expect(codeOf(() => p.check({ peer: '', headers: {}, isPublic: false }))).toBe('UNAUTHORIZED');
  });

  it('refuses web pages (any Origin not explicitly allowed), even from loopback', () => {
    const p = policy({ allowedOrigins: 'http://localhost:5173' });
    expect(codeOf(() => p.check({ peer: '127.0.0.1', headers: { origin: 'http://evil.example' }, isPublic: false }))).toBe('FORBIDDEN_ORIGIN');
    expect(codeOf(() => p.check({ peer: '127.0.0.1', headers: { origin: 'null' }, isPublic: true }))).toBe('FORBIDDEN_ORIGIN');
    expect(codeOf(() => p.check({ peer: '127.0.0.1', headers: { origin: 'http://localhost:5173' }, isPublic: false }))).toBeNull();
  });

  it('refuses Host names that do not name the daemon (DNS rebinding)', () => {
    const p = policy({ localAddresses: () => ['10.0.0.1'] });
    const ok = (host: string) => codeOf(() => p.check({ peer: '127.0.0.1', headers: { host }, isPublic: false }));
    expect(ok('rebind.attacker.example:3848')).toBe('FORBIDDEN_HOST');
    expect(ok('localhost:3848')).toBeNull();
    expect(ok('127.0.0.1:3848')).toBeNull();
    expect(ok('127.1.2.3')).toBeNull();
    expect(ok('[::1]:3848')).toBeNull();
    expect(ok('vm')).toBeNull(); // the machine id
    // An IP literal is not a loopback name: refused, even this machine's own, while listening on loopback only.
    expect(ok('10.0.0.1:3848')).toBe('FORBIDDEN_HOST');
    expect(ok('93.184.216.34')).toBe('FORBIDDEN_HOST');
    expect(ok('[2001:db8::1]:3848')).toBe('FORBIDDEN_HOST');
    expect(ok('0.0.0.0:3848')).toBe('FORBIDDEN_HOST');
  });

  it('accepts the configured host and TELEPTY_ALLOWED_HOSTS names', () => {
    const p = policy({ listenHost: '10.231.5.1', hostNames: ['10.231.5.1', 'vm', 'telepty.lan'] });
    const ok = (host: string) => codeOf(() => p.check({ peer: '127.0.0.1', headers: { host }, isPublic: false }));
    expect(ok('10.231.5.1:3848')).toBeNull();
    expect(ok('TELEPTY.lan:3848')).toBeNull();
    expect(ok('10.231.5.2:3848')).toBe('FORBIDDEN_HOST');
  });

  it("beyond loopback, accepts this machine's interface addresses (a peer reaching it by IP) and no other IP", () => {
    let reads = 0;
    const addresses = (): string[] => {
      reads++;
      return ['127.0.0.1', '192.168.1.20', 'fe80::1c2:3ff:fe04:506'];
    };
    const p = policy({ listenHost: '0.0.0.0', hostNames: ['0.0.0.0', 'vm'], localAddresses: addresses });
    const ok = (host: string) => codeOf(() => p.check({ peer: '127.0.0.1', headers: { host }, isPublic: false }));
    expect(ok('192.168.1.20:3848')).toBeNull();
    expect(ok('[fe80::1c2:3ff:fe04:506]:3848')).toBeNull();
    expect(ok('192.168.1.21:3848')).toBe('FORBIDDEN_HOST');
    expect(ok('[2001:db8::1]:3848')).toBe('FORBIDDEN_HOST');
    expect(ok('attacker.example')).toBe('FORBIDDEN_HOST');
    expect(reads).toBeGreaterThan(0);
  });

  it('counts loopback and connections from this machine to its own address as local, nothing else', () => {
    expect(isLocalConnection({ remoteAddress: '127.0.0.1', localAddress: '127.0.0.1' })).toBe(true);
    expect(isLocalConnection({ remoteAddress: '::ffff:127.0.0.1', localAddress: '::ffff:127.0.0.1' })).toBe(true);
    expect(isLocalConnection({ remoteAddress: '10.231.5.1', localAddress: '10.231.5.1' })).toBe(true);
    expect(isLocalConnection({ remoteAddress: '::ffff:10.231.5.1', localAddress: '10.231.5.1' })).toBe(true);
    expect(isLocalConnection({ remoteAddress: '10.231.5.2', localAddress: '10.231.5.1' })).toBe(false);
    expect(isLocalConnection({ remoteAddress: '10.231.5.2', localAddress: undefined })).toBe(false);
    expect(isLocalConnection({ remoteAddress: undefined, localAddress: undefined })).toBe(false);
  });

  it('normalizes v4-mapped addresses and zone ids', () => {
    expect(normalizeIp('::ffff:1.2.3.4')).toBe('1.2.3.4');
    expect(normalizeIp('fe80::1%eth0')).toBe('fe80::1');
  });
});

import { describe, expect, it } from 'vitest';
import { busOrigin, busSubject, fleetPermissions, parseRpcSubject, rpcSubject, subjectToken, tokenId } from '../../../src/protocol/fleet.js';
import { parseCredentials, parseNatsUrls } from '../../../src/fleet/credentials.js';
import { planHub } from '../../../src/fleet/hub-config.js';

describe('fleet subjects', () => {
  it('makes any machine id one subject token and back, never reaching into another token', () => {
    for (const id of ['desk', 'cloud-1', 'my_box', '100.64.0.1', 'host.example.com', 'a*b', 'a>b', 'fe80::1', 'ünï']) {
      const t = subjectToken(id);
      expect(t).toMatch(/^[A-Za-z0-9_=-]+$/);
      expect(tokenId(t)).toBe(id);
    }
    expect(subjectToken('a.b')).not.toBe(subjectToken('a_b'));
    expect(tokenId('a=2')).toBeNull();
    expect(tokenId('a.b')).toBeNull();
    expect(tokenId('=61')).toBeNull(); // 'a' written encoded is not the token of 'a'
  });

  it('reads who called whom for what from a request subject', () => {
    expect(parseRpcSubject(rpcSubject('host.example.com', 'inject', 'desk'))).toEqual({ target: 'host.example.com', op: 'inject', caller: 'desk' });
    expect(parseRpcSubject('tp.rpc.laptop.format-disk.desk')).toBeNull();
    expect(parseRpcSubject('tp.rpc.laptop.inject')).toBeNull();
    expect(busOrigin(busSubject('10.0.0.2', 'turn_request'))).toBe('10.0.0.2');
    expect(busOrigin('tp.bus.desk')).toBeNull();
  });

  it('lets a machine publish requests and events only as itself', () => {
    const p = fleetPermissions('desk');
    expect(p.publish).toContain('tp.rpc.*.*.desk');
    expect(p.publish).toContain('tp.bus.desk.>');
    expect(p.publish.some((s) => s.startsWith('tp.') && !s.includes('desk'))).toBe(false);
    expect(p.subscribe).toContain('tp.rpc.desk.>');
    expect(p.subscribe.some((s) => s.startsWith('tp.rpc.') && !s.includes('desk'))).toBe(false);
  });
});

describe('fleet set-up files', () => {
  it('writes one credentials file per machine that reads back, and a config holding only public keys', () => {
    const files = planHub({ machines: ['desk', 'laptop'], servers: ['nats://hub:4222'], listen: '0.0.0.0:4222', storeDir: '/var/lib/telepty-hub' });
    expect(files.credentials.map((c) => c.machine)).toEqual(['desk', 'laptop']);
    for (const c of [...files.credentials, files.admin]) {
      expect(parseCredentials(JSON.stringify(c), 'x.json')).toEqual(c);
      expect(files.config).not.toContain(c.nkey_seed);
    }
    expect(files.config).toContain('"tp.rpc.*.*.desk"');
    expect(() => planHub({ machines: ['desk', 'desk'], servers: [], listen: 'x', storeDir: 'y' })).toThrow(/named twice/);
    expect(() => planHub({ machines: ['bad id'], servers: [], listen: 'x', storeDir: 'y' })).toThrow(/not a machine id/);
  });

  it('refuses URLs and credentials files that are not ones', () => {
    expect(parseNatsUrls('nats://a:4222, tls://b:4222')).toEqual(['nats://a:4222', 'tls://b:4222']);
    expect(() => parseNatsUrls('http://a')).toThrow(/not a nats/);
    expect(() => parseNatsUrls(' , ')).toThrow(/no NATS server URL/);
    expect(() => parseCredentials('{', 'c.json')).toThrow(/not a telepty credentials file/);
    expect(() => parseCredentials('{"version":1,"machine":"desk","servers":["nats://a"],"nkey_seed":"nope"}', 'c.json')).toThrow(/version 1/);
  });
});

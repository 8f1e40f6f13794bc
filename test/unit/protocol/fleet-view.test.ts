import { describe, expect, it } from 'vitest';
import { fleetPermissions, parseViewSubject, viewInbox, viewSubject } from '../../../src/protocol/fleet.js';

describe('attach frames between machines', () => {
  it('name receiver, sender and viewer in the subject, and read back only what is one', () => {
    expect(viewSubject('laptop', 'desk', 'abc123def456')).toBe('tp.view.laptop.desk.abc123def456');
    expect(parseViewSubject(viewSubject('host.example.com', 'desk', 'abc123def456'))).toEqual({ to: 'host.example.com', from: 'desk', viewer: 'abc123def456' });
    expect(parseViewSubject('tp.view.laptop.desk')).toBeNull();
    expect(parseViewSubject('tp.view.laptop.desk.short')).toBeNull();
    expect(parseViewSubject('tp.rpc.laptop.desk.abc123def456')).toBeNull();
    expect(viewInbox('laptop')).toBe('tp.view.laptop.>');
  });

  it('let a machine send frames only as itself and receive only its own', () => {
    const p = fleetPermissions('desk');
    expect(p.publish).toContain('tp.view.*.desk.>');
    expect(p.subscribe).toContain('tp.view.desk.>');
    expect(p.publish.filter((s) => s.startsWith('tp.view.'))).toEqual(['tp.view.*.desk.>']);
    expect(p.subscribe.filter((s) => s.startsWith('tp.view.'))).toEqual(['tp.view.desk.>']);
  });
});

import type { HostHello } from '../../src/protocol/host-link.js';

let instanceSeq = 0;
/** A fresh host instance (hosts use 32 hex chars; the hub wants at least 16). */
export function newHostInstance(): string {
  instanceSeq += 1;
  return `instance-${String(instanceSeq).padStart(16, '0')}`;
}

/** The hello a wrapped bash host sends, created a minute before `t0` and active 5 s before it. */
export function hostHello(instance: string, id: string, t0: number, over: Partial<HostHello> = {}, session: Partial<HostHello['session']> = {}): HostHello {
  return {
    type: 'hello',
    link_version: 1,
    host_instance: instance,
    session_id: id,
    id_flexible: false,
    ...over,
    session: {
      type: 'wrapped',
      command: 'bash',
      args: ['-l'],
      cwd: '/home/me/projects/telepty',
      pid: 4242,
      host_pid: 4241,
      cols: 120,
      rows: 40,
      term: 'xterm-256color',
      created_at: new Date(t0 - 60_000).toISOString(),
      last_activity_at: new Date(t0 - 5_000).toISOString(),
      bracketed_paste: true,
      alt_screen: false,
      ...session,
    },
  };
}

import { execa } from 'execa';

/**
 * A network namespace joined to this machine by a private veth pair: a peer that is not loopback, for auth
 * tests. Only this machine and the namespace are on the link; cleanup() removes both ends.
 */
export interface Netns {
  name: string;
  hostIp: string;
  nsIp: string;
  /** Run a command inside the namespace (never throws on a non-zero exit). */
  exec(cmd: string[], timeoutMs?: number): Promise<{ stdout: string; stderr: string; exitCode: number }>;
  cleanup(): Promise<void>;
}

async function ip(...args: string[]): Promise<void> {
  await execa('ip', args);
}

/** `prefix` is the first three octets of a /24, e.g. '10.231.7'. Returns why not when the kernel forbids it. */
export async function createNetns(prefix: string): Promise<Netns | { skip: string }> {
  if (process.getuid?.() !== 0) return { skip: 'network namespaces need root' };
  const tag = `${process.pid % 100000}${Math.floor(Math.random() * 1000)}`;
  const name = `tp${tag}`;
  const hostIf = `tpv${tag}a`.slice(0, 15);
  const nsIf = `tpv${tag}b`.slice(0, 15);
  const hostIp = `${prefix}.1`;
  const nsIp = `${prefix}.2`;
  try {
    await ip('netns', 'add', name);
  } catch (err) {
    return { skip: `ip netns add failed here: ${(err as Error).message.split('\n')[0]}` };
  }
  const cleanup = async (): Promise<void> => {
    await execa('ip', ['netns', 'del', name], { reject: false });
    await execa('ip', ['link', 'del', hostIf], { reject: false });
  };
  try {
    await ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    await ip('link', 'set', nsIf, 'netns', name);
    await ip('addr', 'add', `${hostIp}/24`, 'dev', hostIf);
    await ip('link', 'set', hostIf, 'up');
    await ip('netns', 'exec', name, 'ip', 'addr', 'add', `${nsIp}/24`, 'dev', nsIf);
    await ip('netns', 'exec', name, 'ip', 'link', 'set', nsIf, 'up');
    await ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
  } catch (err) {
    await cleanup();
    return { skip: `could not set up a veth pair: ${(err as Error).message.split('\n')[0]}` };
  }
  return {
    name,
    hostIp,
    nsIp,
    async exec(cmd, timeoutMs = 15_000) {
      const r = await execa('ip', ['netns', 'exec', name, ...cmd], { reject: false, timeout: timeoutMs });
      return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
    },
    cleanup,
  };
}

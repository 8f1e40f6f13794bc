import { packageVersion } from '../util/version.js';

let warned = false;

/** -1, 0 or 1 as `a` is older, the same as or newer than `b` (numeric dotted parts; pre-release tags ignored). */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string): number[] => (v.split(/[-+]/)[0] ?? '').split('.').map((n) => Number.parseInt(n, 10) || 0);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** The line a CLI prints when the daemon it talks to runs another version, or null when they agree. */
export function versionNotice(daemonVersion: string, cliVersion: string): string | null {
  if (daemonVersion === cliVersion) return null;
  const order = compareVersions(cliVersion, daemonVersion);
  const which = order > 0 ? 'older than' : order < 0 ? 'newer than' : 'different from';
  return `telepty: note: the running daemon (${daemonVersion}) is ${which} this CLI (${cliVersion}); run \`telepty daemon restart\` to run ${cliVersion} (sessions are kept)`;
}

/**
 * Say once per process (on stderr) that the daemon runs another version than this CLI. The version comes from
 * the state file or the daemon's meta the command already has: no request is added.
 */
export function noteDaemonVersion(daemonVersion: string, write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): void {
  if (warned) return;
  const line = versionNotice(daemonVersion, packageVersion());
  if (line === null) return;
  warned = true;
  write(line);
}

/** True unless the pid certainly does not exist (a state file left by a daemon that was killed names a dead pid). */
function mayBeRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** As noteDaemonVersion, for the daemon a state-file record names, unless its pid is gone (a stale record). */
export function noteRecordVersion(record: { pid: number; version: string }): void {
  if (mayBeRunning(record.pid)) noteDaemonVersion(record.version);
}

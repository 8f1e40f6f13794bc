import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { Socket } from 'node:net';
import path from 'node:path';
import { isErrno } from '../../util/files.js';
import type { Logger } from '../../util/log.js';

/**
 * A host's earlier log bigger than this is not carried over to a spare's log (its lines would be copied on
 * `spawn`'s path): that spawn starts a host of its own instead, which appends to the log as it is.
 */
export const SPARE_LOG_CARRY_MAX_BYTES = 1 << 20;
/** Name of a spare's log until it is handed a session (then it becomes `<id>.log`). */
const SPARE_LOG = /^spare-[0-9a-f]+\.log$/;

/** Starts a host process (its Node, the host bundle and node-pty loaded) whose stdout and stderr go to `logFile`. */
export type LaunchHost = (logFile: string) => Promise<ChildProcess>;

interface Spare {
  child: ChildProcess;
  logFile: string;
}

const isRunning = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null;

/**
 * One host process started ahead of the next `spawn` (issue 24): Node's start, the host bundle and node-pty, ~60 ms
 * here, are then off `spawn`'s path, which only writes the session's spec to the waiting host's stdin (the host reads
 * its spec from stdin either way: src/host/main.ts). The daemon keeps one once it has spawned a session (a daemon
 * that never spawns starts none) and starts the next after each spawn. A spare ends with its stdin, so with the
 * daemon that started it (a spare is never a session: it holds no PTY and no child until it has its spec).
 */
export class SpareHosts {
  private spare: Spare | null = null;
  private starting = false;
  /** The spare logs of spares of this daemon still running (never taken for stale ones). */
  private readonly liveLogs = new Set<string>();

  constructor(
    private readonly launch: LaunchHost,
    private readonly logDir: string,
    private readonly log: Logger,
  ) {}

  /**
   * The waiting spare for the session whose log is `logFile`, its own log renamed to that (an earlier log of the
   * same id carried over in front); null when none is ready (then the caller starts a host itself). Nothing has
   * been written to the spare yet: the caller hands it the spec.
   */
  async take(logFile: string): Promise<ChildProcess | null> {
    const s = this.spare;
    this.spare = null;
    if (!s || !isRunning(s.child) || !s.child.stdin?.writable) return null;
    const adopted = await this.adoptLog(s, logFile);
    if (adopted === 'keep' && !this.spare) this.spare = s;
    // One spare at a time: a kept one that another replaced meanwhile, or one whose log is in disorder, ends.
    else if (adopted !== 'adopted') s.child.kill('SIGTERM');
    if (adopted !== 'adopted') return null;
    // It may have ended while its log moved (nothing was sent to it): then the caller starts a host itself.
    return isRunning(s.child) ? s.child : null;
  }

  /** Start a spare unless one waits or is starting. Never throws: a spare that cannot start is logged and skipped. */
  refill(): void {
    if (this.spare || this.starting) return;
    this.starting = true;
    this.startOne()
      .catch((err: unknown) => this.log.warn(`could not start a spare session host: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => {
        this.starting = false;
      });
  }

  private async startOne(): Promise<void> {
    await this.removeStaleLogs();
    const logFile = path.join(this.logDir, `spare-${randomBytes(6).toString('hex')}.log`);
    const child = await this.launch(logFile);
    // Its stdin is held open until a spawn writes its spec: the pipe must not keep the daemon running.
    if (child.stdin instanceof Socket) child.stdin.unref();
    child.stdin?.on('error', (err) => this.log.warn(`spare host ${child.pid} stdin: ${err.message}`));
    const spare = { child, logFile };
    this.liveLogs.add(logFile);
    child.once('exit', (code, signal) => {
      this.liveLogs.delete(logFile);
      if (this.spare !== spare) return;
      this.spare = null;
      this.log.warn(`a spare session host ended unused (${signal ?? `code ${code}`}); see ${logFile}`);
    });
    this.spare = spare;
  }

  /** Spare logs left empty by spares that ended with an earlier daemon. */
  private async removeStaleLogs(): Promise<void> {
    const names = await fs.readdir(this.logDir).catch((err: unknown) => {
      if (isErrno(err, 'ENOENT')) return [];
      throw err;
    });
    for (const name of names.filter((n) => SPARE_LOG.test(n))) {
      const file = path.join(this.logDir, name);
      if (this.liveLogs.has(file)) continue;
      const st = await fs.stat(file).catch(() => null);
      if (st?.size === 0) await fs.unlink(file).catch((err: unknown) => this.log.debug(`stale spare log ${file}: ${(err as Error).message}`));
    }
  }

  /**
   * The spare's log becomes the session's (`<id>.log`): renamed to that name when it is new, else the earlier
   * log's lines are appended to the spare's (it has written none yet) and the spare's replaces it (the id is
   * reserved for this spawn: nothing else writes that name meanwhile). Renamed, not linked: the host's descriptor
   * then names the session's log (/proc/PID/fd/1), as a host started for the session does. 'keep' (nothing changed:
   * the spare waits for the next spawn) when the earlier log is too big to carry (SPARE_LOG_CARRY_MAX_BYTES) or the
   * files refuse; 'drop' when the spare's log was changed but could not take over (the spare is ended).
   */
  private async adoptLog(s: Spare, logFile: string): Promise<'adopted' | 'keep' | 'drop'> {
    const exists = await fs.lstat(logFile).then(
      () => true,
      (err: unknown) => {
        if (isErrno(err, 'ENOENT')) return false;
        this.log.warn(`a spare host cannot tell whether ${logFile} exists: ${(err as Error).message}`);
        return null;
      },
    );
    if (exists === null) return 'keep';
    if (exists) return this.carryOver(s, logFile);
    try {
      await fs.rename(s.logFile, logFile);
    } catch (err) {
      this.log.warn(`a spare host's log could not become ${logFile}: ${(err as Error).message}`);
      return 'keep';
    }
    s.logFile = logFile;
    return 'adopted';
  }

  private async carryOver(s: Spare, logFile: string): Promise<'adopted' | 'keep' | 'drop'> {
    let earlier: Buffer;
    try {
      if ((await fs.stat(logFile)).size > SPARE_LOG_CARRY_MAX_BYTES) return 'keep';
      earlier = await fs.readFile(logFile);
    } catch (err) {
      this.log.warn(`a spare host could not carry over ${logFile}: ${(err as Error).message}`);
      return 'keep';
    }
    try {
      await fs.appendFile(s.logFile, earlier);
      await fs.rename(s.logFile, logFile);
    } catch (err) {
      this.log.warn(`a spare host's log could not take over ${logFile}: ${(err as Error).message}; the spare is ended`);
      return 'drop';
    }
    s.logFile = logFile;
    return 'adopted';
  }
}

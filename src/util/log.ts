import { writeSync } from 'node:fs';
import { isoTime } from './iso-time.js';
/** A small leveled logger writing one line per record; the stream is passed in (stderr, a file, a test buffer). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string, err?: unknown): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  write: (line: string) => void;
  level?: LogLevel;
  scope?: string;
  now?: () => Date;
}

export function describeError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}

export function createLogger(opts: LoggerOptions): Logger {
  const min = ORDER[opts.level ?? 'info'];
  const now = opts.now ?? (() => new Date());
  const prefix = opts.scope ? ` [${opts.scope}]` : '';
  const emit = (level: LogLevel, message: string): void => {
    if (ORDER[level] < min) return;
    opts.write(`${isoTime(now().getTime())} ${level.toUpperCase().padEnd(5)}${prefix} ${message}\n`);
  };
  return {
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m, err) => emit('error', err === undefined ? m : `${m}: ${describeError(err)}`),
  };
}

export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const v = env.TELEPTY_LOG_LEVEL;
  return v === 'debug' || v === 'info' || v === 'warn' || v === 'error' ? v : 'info';
}

/** A logger that writes nothing: for tests and for library use without a log. */
export const silentLogger: Logger = createLogger({ write: () => undefined, level: 'error' });

/** While log lines cannot be written, at most one notice about it per this window goes to the fallback. */
export const LOG_FAILURE_NOTICE_MS = 60_000;

export interface SafeWriterOptions {
  /** Where lines go (may throw: a full disk, a closed descriptor). */
  primary: (line: string) => void;
  /** Where a rate-limited notice goes while the primary fails (may throw too: then the lines are only counted). */
  fallback: (line: string) => void;
  now?: () => number;
}

/**
 * A log line writer that never throws: a line the primary cannot take (ENOSPC on the log file) is counted, a
 * notice goes to the fallback at most once per LOG_FAILURE_NOTICE_MS, and once the primary works again it is told
 * how many lines were lost. Logging must never be what ends a daemon.
 */
export function safeLineWriter(opts: SafeWriterOptions): (line: string) => void {
  const now = opts.now ?? Date.now;
  let lost = 0;
  let lastNotice = -Infinity;
  let reason = '';
  const tryFallback = (line: string): void => {
    try {
      opts.fallback(line);
    } catch (err) {
      // Nowhere left to say it: the lost-line count is all that remains (reported when writing works again).
      reason ||= err instanceof Error ? err.message : String(err);
    }
  };
  return (line: string) => {
    try {
      if (lost > 0) {
        opts.primary(`${isoTime(now())} WARN  ${lost} log line(s) could not be written (${reason})\n`);
        lost = 0;
      }
      opts.primary(line);
    } catch (err) {
      lost++;
      reason = err instanceof Error ? err.message : String(err);
      const t = now();
      if (t - lastNotice >= LOG_FAILURE_NOTICE_MS) {
        lastNotice = t;
        tryFallback(`telepty: cannot write the log (${reason}); ${lost} line(s) lost so far, the last: ${line}`);
      }
    }
  };
}

/** Lines written straight to a file descriptor (the daemon's stderr is its log file when it runs detached). */
export function fdWriter(fd: number): (line: string) => void {
  return (line) => {
    const bytes = Buffer.from(line, 'utf8');
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
  };
}

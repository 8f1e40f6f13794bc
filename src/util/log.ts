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
    opts.write(`${now().toISOString()} ${level.toUpperCase().padEnd(5)}${prefix} ${message}\n`);
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

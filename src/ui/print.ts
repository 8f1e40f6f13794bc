import { isTeleptyError } from '../protocol/errors.js';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(text = ''): void {
  process.stdout.write(`${text}\n`);
}

/**
 * For a command that prints as things come (tail, a publish stream): a reader that closed the pipe (`| head -1`)
 * has what it wanted, so exit 0 quietly, as at the end of the output, instead of Node's stack trace for the
 * unhandled EPIPE (exit 1). Any other error of stdout still throws. Only such commands touch process.stdout early:
 * making it sets the terminal's descriptor blocking, which `wrap` must not have.
 */
export function exitQuietlyWhenReaderCloses(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

/** Colour only on a TTY and never with NO_COLOR (https://no-color.org). */
export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !('NO_COLOR' in process.env) && process.env.TERM !== 'dumb';
}

/** `key  value` lines, keys aligned. */
export function printFields(fields: [string, string | number | null | undefined][]): void {
  const width = Math.max(...fields.map(([k]) => k.length));
  for (const [k, v] of fields) printLine(`${k.padEnd(width)}  ${v ?? '-'}`);
}

/**
 * The error as a human line on stderr, and as `{error, code}` JSON on stdout when --json was asked for (on one
 * line for a command whose --json output is NDJSON, so a line reader gets it whole).
 */
export function reportError(err: unknown, json: boolean, ndjson = false): void {
  const code = isTeleptyError(err) ? err.code : 'INTERNAL';
  const message = err instanceof Error ? err.message : String(err);
  const body = isTeleptyError(err) ? err.toBody() : { error: message, code };
  if (json && ndjson) printLine(JSON.stringify(body));
  else if (json) printJson(body);
  process.stderr.write(`telepty: ${message}${isTeleptyError(err) ? ` [${code}]` : ''}\n`);
  if (!isTeleptyError(err) && err instanceof Error && process.env.TELEPTY_DEBUG) process.stderr.write(`${err.stack}\n`);
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(seconds / 86400)}d${String(Math.floor((seconds % 86400) / 3600)).padStart(2, '0')}h`;
}

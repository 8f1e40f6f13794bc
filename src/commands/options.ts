import { TeleptyError } from '../protocol/errors.js';

/** Integer option parsing for commander: a bad value is a usage error (exit 2) naming the option. */
export function intOption(name: string, min: number, max: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value) || n < min || n > max) throw new TeleptyError('INVALID_FIELD', `${name} must be an integer ${min}-${max}, got ${JSON.stringify(value)}`);
    return n;
  };
}

/** Repeatable `--env K=V`. */
export function collectEnv(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new TeleptyError('INVALID_FIELD', `--env takes KEY=VALUE, got ${JSON.stringify(value)}`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** A duration in seconds (fractions allowed), more than 0 and at most `maxSeconds`, as milliseconds. */
export function parseSeconds(value: string, name: string, maxSeconds = 24 * 3600): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > maxSeconds) throw new TeleptyError('INVALID_FIELD', `${name} takes seconds (more than 0, at most ${maxSeconds}), got ${JSON.stringify(value)}`);
  return Math.round(n * 1000);
}

/**
 * `new Date(ms).toISOString()` without V8's date cache: V8's first date formatting sets up its time-zone cache from
 * ICU, which reads ~0.64 MB of ICU's data and code in the node binary (+0.83 MB of the binary resident in a bare
 * Node, every time). A bare Node never touches those pages, an idle session host did only to stamp its log lines
 * and its start time, and PSS counts a share of them (bench/host-memory.md, "Dec 5, fifth session"; the daemon
 * still maps them, so while it runs this moves a share of those pages to it rather than freeing them).
 * The same text as toISOString for years 0-9999; other times (and NaN, which throws) are left to Date.
 * Self-contained (no module-level names): a test runs its source in a fresh Node.
 */
export function isoTime(ms: number): string {
  const DAY_MS = 86_400_000;
  /** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: toISOString's four-digit years. */
  const FIRST_MS = -62_167_219_200_000;
  const LAST_MS = 253_402_300_799_999;
  const t = Math.trunc(ms);
  if (!(t >= FIRST_MS && t <= LAST_MS)) return new Date(ms).toISOString();
  // Days since 1970-01-01 to a civil date (Howard Hinnant's civil_from_days: 400-year eras of 146,097 days,
  // starting on March 1st so the leap day is last).
  const days = Math.floor(t / DAY_MS);
  const inDay = t - days * DAY_MS;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1_460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const pad = (n: number, width: number): string => String(n).padStart(width, '0');
  const hours = Math.floor(inDay / 3_600_000);
  const minutes = Math.floor(inDay / 60_000) % 60;
  const seconds = Math.floor(inDay / 1_000) % 60;
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hours, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)}.${pad(inDay % 1_000, 3)}Z`;
}

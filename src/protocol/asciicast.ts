/**
 * asciicast files (issue 22): v2 (what the asciinema player most distributions ship replays) and v3. A recording is
 * a header line and one JSON array per event: `o` output, `i` input (only when asked: it may hold secrets), `r`
 * resize (`COLSxROWS`), `m` marker (telepty puts each inject there: `inject <id> from <from> turn <turn>`), and in
 * v3 `x` exit. v2 times are seconds since the start; v3 times are seconds since the previous event.
 */

export type CastFormat = 2 | 3;
export type CastCode = 'o' | 'i' | 'r' | 'm' | 'x';

export interface CastHeader {
  format: CastFormat;
  cols: number;
  rows: number;
  /** Unix seconds of the start. */
  timestamp: number;
  command?: string | undefined;
  title?: string | undefined;
  env?: Record<string, string> | undefined;
}

export interface CastEvent {
  /** Seconds since the start of the recording (absolute, whatever the file's format). */
  time: number;
  code: CastCode;
  data: string;
}

export function headerLine(h: CastHeader): string {
  if (h.format === 2) {
    return JSON.stringify({
      version: 2,
      width: h.cols,
      height: h.rows,
      timestamp: h.timestamp,
      ...(h.command !== undefined ? { command: h.command } : {}),
      ...(h.title !== undefined ? { title: h.title } : {}),
      ...(h.env !== undefined ? { env: h.env } : {}),
    });
  }
  return JSON.stringify({
    version: 3,
    term: { cols: h.cols, rows: h.rows },
    timestamp: h.timestamp,
    ...(h.command !== undefined ? { command: h.command } : {}),
    ...(h.title !== undefined ? { title: h.title } : {}),
    ...(h.env !== undefined ? { env: h.env } : {}),
  });
}

/** Times keep microseconds, as asciinema writes them. */
function round6(t: number): number {
  return Math.round(t * 1e6) / 1e6;
}

/** One event line; `previous` is the previous event's absolute time (v3 writes the interval). */
export function eventLine(format: CastFormat, ev: CastEvent, previous: number): string {
  return `${eventLineStart(format, ev.time, ev.code, previous)}${JSON.stringify(ev.data)}]`;
}

/** An event line up to its data: `[time,"code",`. */
export function eventLineStart(format: CastFormat, time: number, code: CastCode, previous: number): string {
  const t = format === 2 ? time : Math.max(0, time - previous);
  return `[${round6(t)},"${code}",`;
}

/** The marker label of an inject, parseable back by injectMarker. */
export function injectLabel(m: { inject_id: string; from?: string | null | undefined; turn_id?: string | null | undefined }): string {
  return `inject ${m.inject_id}${m.from ? ` from ${m.from}` : ''}${m.turn_id ? ` turn ${m.turn_id}` : ''}`;
}

export function injectMarker(label: string): { inject_id: string; from: string | null; turn_id: string | null } | null {
  const m = /^inject (\S+)(?: from (\S+))?(?: turn (\S+))?$/.exec(label);
  return m ? { inject_id: m[1] as string, from: m[2] ?? null, turn_id: m[3] ?? null } : null;
}

export class CastParseError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'CastParseError';
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseHeader(text: string): CastHeader {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    throw new CastParseError(1, 'the header is not JSON');
  }
  if (!isObject(v)) throw new CastParseError(1, 'the header is not a JSON object');
  const title = typeof v.title === 'string' ? v.title : undefined;
  const command = typeof v.command === 'string' ? v.command : undefined;
  const timestamp = typeof v.timestamp === 'number' ? v.timestamp : 0;
  if (v.version === 2 && typeof v.width === 'number' && typeof v.height === 'number') {
    return { format: 2, cols: v.width, rows: v.height, timestamp, title, command };
  }
  if (v.version === 3 && isObject(v.term) && typeof v.term.cols === 'number' && typeof v.term.rows === 'number') {
    return { format: 3, cols: v.term.cols, rows: v.term.rows, timestamp, title, command };
  }
  throw new CastParseError(1, 'not an asciicast v2 or v3 header (version, size)');
}

const CODES = new Set<string>(['o', 'i', 'r', 'm', 'x']);

/** A whole recording; events with absolute times, whatever the format. Comment lines (v3 `#`) and blank lines are skipped. */
export function parseCast(text: string): { header: CastHeader; events: CastEvent[] } {
  const lines = text.split('\n');
  const header = parseHeader(lines[0] ?? '');
  const events: CastEvent[] = [];
  let clock = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '' || line.startsWith('#')) continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      throw new CastParseError(i + 1, 'an event is not JSON');
    }
    if (!Array.isArray(v) || v.length < 3 || typeof v[0] !== 'number' || !CODES.has(String(v[1])) || (typeof v[2] !== 'string' && typeof v[2] !== 'number')) {
      throw new CastParseError(i + 1, 'an event is not [time, code, data]');
    }
    const t = v[0];
    clock = header.format === 2 ? t : clock + t;
    const code = String(v[1]);
    if (code === 'o' || code === 'i' || code === 'r' || code === 'm' || code === 'x') events.push({ time: clock, code, data: String(v[2]) });
  }
  return { header, events };
}

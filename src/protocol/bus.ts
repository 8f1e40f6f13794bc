import { TeleptyError } from './errors.js';
import { parseAddress } from './ids.js';
import { isRecord } from './guard.js';

/** Envelope schema version of the seed's BUS_EVENT_SCHEMA. */
export const BUS_ENVELOPE_VERSION = 1;
export const BUS_PATH = '/api/bus';

/** A bus event as delivered: the seed's envelope, a daemon-assigned `seq`, and the event's own fields. */
export interface BusEvent {
  version: number;
  message_id: string;
  kind: string;
  type: string;
  source: string | null;
  source_host: string;
  target: string | null;
  ts: string;
  /** Monotonic per daemon instance. */
  seq: number;
  [field: string]: unknown;
}

export type BusEventDraft = Omit<BusEvent, 'seq'>;

/** What a publisher gets back (HTTP answer, or a WS ack with `ack=1`). */
export interface PublishAck {
  success: true;
  seq: number;
  message_id: string;
  /** How many subscribers it was queued to. */
  delivered: number;
}

/** WebSocket close code of the bus for a subscriber dropped for being too slow: it may resume with `since`. */
export const BUS_CLOSE_TOO_SLOW = 4201;

/** The kind of the answer to each event published over the bus WebSocket with `ack=1` (a PublishAck beside it). */
export const BUS_ACK_KIND = 'bus.ack';

/** A bus event as a subscriber receives it: the fields every delivered event has that readers rely on. */
export function isBusEvent(value: unknown): value is BusEvent {
  return isRecord(value) && typeof value.kind === 'string' && typeof value.seq === 'number' && Number.isInteger(value.seq);
}

/** A publish ack (`POST /api/bus/publish`, or a `bus.ack` frame). */
export function isPublishAckShape(value: unknown): value is PublishAck {
  return isRecord(value) && value.success === true && Number.isInteger(value.seq) && typeof value.message_id === 'string' && Number.isInteger(value.delivered);
}

/** Sent to a subscriber instead of events it can no longer get (`since` older than the replay ring holds). */
export const GAP_KIND = 'bus.gap';

const KIND_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;
const MAX_REF = 256;

function invalid(message: string): TeleptyError {
  return new TeleptyError('INVALID_EVENT', message);
}

function optText(o: Record<string, unknown>, key: string, max = MAX_REF): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length > max || /[\x00-\x1f\x7f]/.test(v)) throw invalid(`"${key}" must be a string of at most ${max} printable characters`);
  return v;
}

/**
 * An incoming event, validated and completed in place (the caller hands over a freshly parsed object): `kind` from
 * a legacy `type` (and `type` from `kind`, for the seed's subscribers), `message_id`, `ts` and `source_host`
 * filled when missing, `version` set. Other fields pass through untouched. No copy: the bus is a hot path.
 */
export function normalizeEvent(raw: unknown, ctx: { machineId: string; now: () => number; newId: () => string }): BusEventDraft {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid('an event must be a JSON object');
  const o = raw as Record<string, unknown>;
  const kind = o.kind ?? o.type;
  if (typeof kind !== 'string' || !KIND_PATTERN.test(kind)) throw invalid('an event needs "kind" (or a legacy "type"): 1-128 letters, digits and . _ : / -');
  if (o.type !== undefined && typeof o.type !== 'string') throw invalid('"type" must be a string');
  const target = optText(o, 'target');
  if (target !== undefined) {
    try {
      parseAddress(target);
    } catch (err) {
      if (err instanceof TeleptyError) throw invalid(`"target" is not a session address (id or id@host): ${err.message}`);
      throw err;
    }
  }
  const messageId = optText(o, 'message_id', 128);
  const source = optText(o, 'source');
  const sourceHost = optText(o, 'source_host');
  const ts = optText(o, 'ts', 64);
  o.version = BUS_ENVELOPE_VERSION;
  o.message_id = messageId ?? ctx.newId();
  o.kind = kind;
  if (o.type === undefined) o.type = kind;
  o.source = source ?? null;
  o.source_host = sourceHost ?? ctx.machineId;
  o.target = target ?? null;
  o.ts = ts ?? new Date(ctx.now()).toISOString();
  return o as BusEventDraft;
}

/** Server-side subscription filters (query of WS /api/bus). */
export interface BusFilter {
  /** Exact kinds, or prefixes written with a trailing `*`; empty: every kind. */
  kinds: string[];
  target: string | null;
  source: string | null;
}

export interface BusSubscribeOptions extends BusFilter {
  /** Replay events after this seq from the ring before live ones. */
  since: number | null;
  /** Several events per frame, one JSON object per line (NDJSON); otherwise one event per frame (seed clients). */
  batch: boolean;
  /** Answer each event this connection publishes with a PublishAck. */
  ack: boolean;
  /** Receive events (false: a publish-only connection). */
  subscribe: boolean;
}

export function parseSubscribeQuery(q: URLSearchParams): BusSubscribeOptions {
  const kinds = q
    .getAll('kind')
    .flatMap((k) => k.split(','))
    .map((k) => k.trim())
    .filter(Boolean);
  for (const k of kinds) if (!KIND_PATTERN.test(k.replace(/\*$/, '') || 'x')) throw invalid(`bad kind filter ${JSON.stringify(k.slice(0, 40))}`);
  const sinceRaw = q.get('since');
  let since: number | null = null;
  if (sinceRaw !== null) {
    if (!/^\d{1,15}$/.test(sinceRaw)) throw invalid('"since" must be a sequence number');
    since = Number(sinceRaw);
  }
  const flag = (name: string, dflt: boolean): boolean => {
    const v = q.get(name);
    return v === null ? dflt : v === '1' || v === 'true';
  };
  const ref = (name: string): string | null => {
    const v = q.get(name);
    if (v !== null && (v.length > MAX_REF || /[\x00-\x1f]/.test(v))) throw invalid(`bad ${name} filter`);
    return v || null;
  };
  return { kinds, target: ref('target'), source: ref('source'), since, batch: flag('batch', false), ack: flag('ack', false), subscribe: flag('subscribe', true) };
}

/** A kind, source or target pattern: exact, or a prefix written with a trailing `*`. */
export function matchesText(pattern: string, value: string | null): boolean {
  if (value === null) return false;
  return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : value === pattern;
}

/**
 * Whether an event passes a subscriber's filters. A target filter `id` also matches `id@host`; a filter `id@host`
 * also matches a bare `id` in an event from that host (its own sessions: `a@vm` is the `a` of vm's inject events).
 */
export function matchesFilter(f: BusFilter, ev: Pick<BusEvent, 'kind' | 'type' | 'target' | 'source'> & { source_host?: string }): boolean {
  if (f.kinds.length > 0 && !f.kinds.some((k) => matchesText(k, ev.kind) || (ev.type !== ev.kind && matchesText(k, ev.type)))) return false;
  if (f.target !== null) {
    const t = ev.target;
    if (t === null || (t !== f.target && !t.startsWith(`${f.target}@`) && !matchesText(f.target, t) && (ev.source_host === undefined || `${t}@${ev.source_host}` !== f.target))) return false;
  }
  if (f.source !== null && !matchesText(f.source, ev.source)) return false;
  return true;
}

/** Split an NDJSON frame or body into lines with content. */
export function ndjsonLines(text: string): string[] {
  if (!text.includes('\n')) return text.trim().length > 0 ? [text] : [];
  return text.split('\n').filter((l) => l.trim().length > 0);
}

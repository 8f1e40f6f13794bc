/**
 * The fleet's subjects over NATS (issue 18; PROTOCOL.md "Across machines"). The caller's machine is part of every
 * subject it publishes, and the server's permissions (fleetPermissions) let a machine publish only as itself and
 * answer only for itself: who calls and who answers is proven by the server, not by the payload.
 */

/** Every fleet subject starts with this, so a shared NATS server can carry other traffic. */
export const FLEET_PREFIX = 'tp';

/** What a machine may ask another to do. Remote spawn and kill are refused unless the target's policy allows them. */
export const FLEET_OPS = ['ping', 'inject', 'enter', 'keys', 'screen', 'list', 'kill', 'rename', 'spawn', 'state', 'wait', 'attach', 'tag', 'record'] as const;
export type FleetOp = (typeof FLEET_OPS)[number];

/** The JetStream stream that keeps the fleet's bus events for `since` replay. */
export const FLEET_EVENTS_STREAM = 'telepty-events';
/** The key-value bucket of the fleet's sessions and machines' presence. */
export const FLEET_DIRECTORY_BUCKET = 'telepty-directory';

/**
 * A machine id as one subject token: letters, digits, `-` and `_` stay; every other character (`.`, `*`, `>`,
 * spaces, non-ASCII) is written `=XX` per UTF-8 byte (`=` is valid in subjects and in key-value keys), so two
 * ids never share a token and none can reach into another's subjects.
 */
export function subjectToken(id: string): string {
  if (id.length === 0) throw new Error('an empty id has no subject token');
  let out = '';
  for (const ch of id) {
    if (/^[A-Za-z0-9_-]$/.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The id a subject token stands for (inverse of subjectToken), or null when it is not one. */
export function tokenId(token: string): string | null {
  if (!/^(?:[A-Za-z0-9_-]|=[0-9A-F]{2})+$/.test(token)) return null;
  const bytes: number[] = [];
  for (let i = 0; i < token.length; ) {
    if (token[i] === '=') {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      bytes.push(token.charCodeAt(i));
      i += 1;
    }
  }
  const text = Buffer.from(bytes).toString('utf8');
  return subjectToken(text) === token ? text : null;
}

/** `tp.rpc.<target>.<op>.<caller>`: a request from `caller` to `target`. */
export function rpcSubject(target: string, op: FleetOp, caller: string): string {
  return `${FLEET_PREFIX}.rpc.${subjectToken(target)}.${op}.${subjectToken(caller)}`;
}

/** Every request addressed to `self` (what its daemon serves). */
export function rpcInbox(self: string): string {
  return `${FLEET_PREFIX}.rpc.${subjectToken(self)}.>`;
}

export interface RpcRoute {
  target: string;
  op: FleetOp;
  caller: string;
}

function isFleetOp(v: string): v is FleetOp {
  return (FLEET_OPS as readonly string[]).includes(v);
}

/** Who asked whom for what, read from a request's subject (the server has checked the caller's token). */
export function parseRpcSubject(subject: string): RpcRoute | null {
  const parts = subject.split('.');
  if (parts.length !== 5 || parts[0] !== FLEET_PREFIX || parts[1] !== 'rpc') return null;
  const target = tokenId(parts[2] as string);
  const op = parts[3] as string;
  const caller = tokenId(parts[4] as string);
  if (target === null || caller === null || !isFleetOp(op)) return null;
  return { target, op, caller };
}

/** `tp.bus.<origin>.<kind>`: a bus event that happened on `origin`. */
export function busSubject(origin: string, kind: string): string {
  return `${FLEET_PREFIX}.bus.${subjectToken(origin)}.${subjectToken(kind)}`;
}

/** WS: every machine's bus events from the fleet's stream (`tail --all-machines`); the query of `/api/bus`, `seq` a stream sequence. */
export const FLEET_BUS_PATH = '/api/fleet/bus';

/** Every machine's bus events. */
export const FLEET_BUS_ALL = `${FLEET_PREFIX}.bus.>`;

/** The machine an event came from, read from its subject (set by the server-checked publisher, never the payload). */
export function busOrigin(subject: string): string | null {
  const parts = subject.split('.');
  if (parts.length !== 4 || parts[0] !== FLEET_PREFIX || parts[1] !== 'bus') return null;
  return tokenId(parts[2] as string);
}

/**
 * `tp.view.<to>.<from>.<viewer>`: one attach's frames between two machines (output one way, keys, resizes and
 * acknowledgements the other). The sender is part of the subject, checked by the server like a request's caller.
 */
export function viewSubject(to: string, from: string, viewer: string): string {
  return `${FLEET_PREFIX}.view.${subjectToken(to)}.${subjectToken(from)}.${viewer}`;
}

/** Every attach frame addressed to `self`. */
export function viewInbox(self: string): string {
  return `${FLEET_PREFIX}.view.${subjectToken(self)}.>`;
}

/** A viewer's id in its subjects: one token of letters and digits. */
export const VIEWER_ID_PATTERN = /^[A-Za-z0-9]{8,64}$/;

/** Who sent an attach frame and for which viewer, read from its subject; null when it is not one. */
export function parseViewSubject(subject: string): { to: string; from: string; viewer: string } | null {
  const parts = subject.split('.');
  if (parts.length !== 5 || parts[0] !== FLEET_PREFIX || parts[1] !== 'view') return null;
  const to = tokenId(parts[2] as string);
  const from = tokenId(parts[3] as string);
  const viewer = parts[4] as string;
  if (to === null || from === null || !VIEWER_ID_PATTERN.test(viewer)) return null;
  return { to, from, viewer };
}

/** A directory key: one per session (`<machine>.<id>`). */
export function sessionKey(machine: string, sessionId: string): string {
  return `${subjectToken(machine)}.${subjectToken(sessionId)}`;
}

/** A machine's presence key, re-put on every heartbeat. */
export function presenceKey(machine: string): string {
  return `${subjectToken(machine)}._presence`;
}

/** Each machine's replies come back on its own inbox prefix, so no machine can read another's answers. */
export function inboxPrefix(machine: string): string {
  return `_INBOX_${subjectToken(machine)}`;
}

export interface SubjectPermissions {
  publish: string[];
  subscribe: string[];
}

/**
 * What machine `self` may publish and subscribe to on the fleet's server. Requests only as itself, answers only to
 * requests it received (the server's allow_responses), bus events and attach frames only as their sender,
 * directory keys only its own; reading the whole bus and directory is open to every member.
 */
export function fleetPermissions(self: string): SubjectPermissions {
  const me = subjectToken(self);
  const kv = `$KV.${FLEET_DIRECTORY_BUCKET}`;
  const js = '$JS.API';
  return {
    publish: [
      `${FLEET_PREFIX}.rpc.*.*.${me}`,
      `${FLEET_PREFIX}.bus.${me}.>`,
      `${FLEET_PREFIX}.view.*.${me}.>`,
      `${kv}.${me}.>`,
      // Read the stream and the bucket: info, direct gets, and consumers of their own (never create/delete a stream).
      `${js}.INFO`,
      `${js}.STREAM.INFO.*`,
      `${js}.STREAM.MSG.GET.*`,
      `${js}.DIRECT.GET.>`,
      `${js}.CONSUMER.CREATE.>`,
      `${js}.CONSUMER.DURABLE.CREATE.>`,
      `${js}.CONSUMER.INFO.>`,
      `${js}.CONSUMER.DELETE.>`,
      `${js}.CONSUMER.MSG.NEXT.>`,
      '$JS.ACK.>',
      '$JS.FC.>',
    ],
    subscribe: [`${FLEET_PREFIX}.rpc.${me}.>`, `${FLEET_PREFIX}.view.${me}.>`, `${inboxPrefix(self)}.>`, FLEET_BUS_ALL, `${kv}.>`, `$JS.EVENT.>`],
  };
}

/** A machine of the fleet as the directory shows it. */
export interface MachineListing {
  machine: string;
  reachable: boolean;
  /** Epoch ms of its last presence beat; null when it never beat (only its sessions are known). */
  last_seen: number | null;
  sessions: Record<string, unknown>[];
}

/** `off`: no fleet configured (local only); `error`: configured but unusable (see `error`). */
export type FleetState = 'off' | 'error' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** `GET /api/fleet`: what this daemon is connected to, the machines it sees and the round trip to each. */
export interface FleetStatus {
  machine: string;
  state: FleetState;
  server: string | null;
  /** Round trip to the hub, ms; null when not connected. */
  hub_rtt_ms: number | null;
  machines: (MachineListing & { rtt_ms: number | null })[];
  error?: string;
}

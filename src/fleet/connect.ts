import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { FLEET_DIRECTORY_BUCKET, FLEET_EVENTS_STREAM, FLEET_BUS_ALL, inboxPrefix } from '../protocol/fleet.js';
import type { FleetCredentials } from './credentials.js';

/** The fleet's events are kept this long for `since` replay; older ones are a gap `tail` announces. */
export const EVENTS_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** And at most this many bytes: a flood cannot fill the hub's disk. */
export const EVENTS_MAX_BYTES = 256 * 1024 * 1024;
/**
 * Directory entries expire this long after their last put (nats-server 2.9 has no per-key TTL: the bucket's max
 * age stands in). Presence is re-put on a heartbeat well inside it.
 */
export const DIRECTORY_MAX_AGE_MS = 60 * 60 * 1000;

export interface FleetConnectOptions {
  credentials: FleetCredentials;
  /** Servers to dial instead of the credentials' own. */
  servers?: string[];
  /** Name shown in the server's monitoring. */
  name?: string;
  /** First connect: give up after this long (the daemon keeps serving locally and tries again). */
  timeoutMs?: number;
}

/** One connection for a machine, its replies on its own inbox prefix, reconnecting by itself for ever. */
export function connectFleet(opts: FleetConnectOptions): Promise<NatsConnection> {
  const { credentials } = opts;
  return connect({
    servers: opts.servers ?? credentials.servers,
    authenticator: nkeyAuthenticator(new TextEncoder().encode(credentials.nkey_seed)),
    inboxPrefix: inboxPrefix(credentials.machine),
    name: opts.name ?? `telepty ${credentials.machine}`,
    maxReconnectAttempts: -1,
    timeout: opts.timeoutMs ?? 5_000,
  });
}

/** The hub's admin creates the event stream and the directory bucket once (idempotent: both are kept as they are). */
export async function ensureFleetStorage(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(FLEET_EVENTS_STREAM);
  } catch (err) {
    if (!(err instanceof Error) || !/not found/i.test(err.message)) throw err;
    await jsm.streams.add({
      name: FLEET_EVENTS_STREAM,
      subjects: [FLEET_BUS_ALL],
      max_age: EVENTS_MAX_AGE_MS * 1_000_000,
      max_bytes: EVENTS_MAX_BYTES,
    });
  }
  await new Kvm(nc).create(FLEET_DIRECTORY_BUCKET, { history: 1, ttl: DIRECTORY_MAX_AGE_MS });
}

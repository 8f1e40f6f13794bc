import type { KV } from '@nats-io/kv';
import { presenceKey, sessionKey, subjectToken, tokenId, type MachineListing } from '../protocol/fleet.js';
import { describeError, type Logger } from '../util/log.js';

/**
 * The fleet's directory (issue 18): every machine keeps its sessions in the hub's key-value bucket, one key per
 * session, and a presence key re-put on a heartbeat. `list --all` reads the bucket once instead of asking every
 * machine, and a machine whose presence lapsed is listed as unreachable with its last-seen time, not dropped.
 */

export interface DirectoryTimings {
  /** Presence is re-put this often. */
  presenceEveryMs: number;
  /** A machine whose presence is older than this is unreachable (a few missed beats, not one late one). */
  presenceLapseMs: number;
  /** Session entries are re-put this often, inside the bucket's max age (nats-server 2.9 has no per-key TTL). */
  sessionRefreshMs: number;
}

export const DEFAULT_DIRECTORY_TIMINGS: DirectoryTimings = {
  // A beat every 5 s costs the hub one small message per machine; 3 missed beats (15 s) say the machine is gone.
  presenceEveryMs: 5_000,
  presenceLapseMs: 15_000,
  // Well inside the bucket's one-hour max age, so a live machine's rows never expire.
  sessionRefreshMs: 20 * 60 * 1000,
};

export type { MachineListing };

interface Presence {
  machine: string;
  ts: number;
  left?: boolean;
}

const enc = new TextEncoder();

/** A row's value, or null when it is not JSON (a row written by something else: skipped, not fatal). */
function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    if (err instanceof SyntaxError) return null;
    throw err;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class FleetDirectory {
  private beat: NodeJS.Timeout | null = null;
  private refresh: NodeJS.Timeout | null = null;
  private readonly mine = new Map<string, Record<string, unknown>>();
  private readonly entries = new Map<string, Uint8Array>();
  private watcher: { stop(): void } | null = null;

  constructor(
    private readonly kv: KV,
    private readonly self: string,
    private readonly deps: { now: () => number; log: Logger; timings?: DirectoryTimings },
  ) {}

  private get timings(): DirectoryTimings {
    return this.deps.timings ?? DEFAULT_DIRECTORY_TIMINGS;
  }

  /** This machine's session as others will list it (its summary object, with `id`). */
  async putSession(id: string, summary: Record<string, unknown>): Promise<void> {
    this.mine.set(id, summary);
    await this.kv.put(sessionKey(this.self, id), enc.encode(JSON.stringify(summary)));
  }

  async removeSession(id: string): Promise<void> {
    this.mine.delete(id);
    await this.kv.delete(sessionKey(this.self, id));
  }

  /** Beat now and on every presenceEveryMs, and re-put this machine's sessions before they could expire. */
  async start(): Promise<void> {
    await this.putPresence(false);
    this.beat = setInterval(() => void this.putPresence(false).catch((err: unknown) => this.deps.log.warn(`fleet: presence beat failed: ${describeError(err)}`)), this.timings.presenceEveryMs);
    this.refresh = setInterval(() => void this.refreshSessions(), this.timings.sessionRefreshMs);
    this.beat.unref();
    this.refresh.unref();
  }

  /** Stop beating; a graceful stop says so at once (`left`), so others list it unreachable without waiting for the lapse. */
  async stop(graceful: boolean): Promise<void> {
    this.watcher?.stop();
    this.watcher = null;
    if (this.beat) clearInterval(this.beat);
    if (this.refresh) clearInterval(this.refresh);
    this.beat = this.refresh = null;
    if (graceful) await this.putPresence(true);
  }

  /** Beat now: back through the hub after its presence lapsed, this machine is listed reachable at once. */
  async beatNow(): Promise<void> {
    if (this.beat !== null) await this.putPresence(false);
  }

  private async putPresence(left: boolean): Promise<void> {
    const p: Presence = { machine: this.self, ts: this.deps.now(), ...(left ? { left: true } : {}) };
    await this.kv.put(presenceKey(this.self), enc.encode(JSON.stringify(p)));
  }

  private async refreshSessions(): Promise<void> {
    for (const [id, summary] of this.mine) {
      await this.kv.put(sessionKey(this.self, id), enc.encode(JSON.stringify(summary))).catch((err: unknown) => this.deps.log.warn(`fleet: refreshing ${id} failed: ${describeError(err)}`));
    }
  }

  /**
   * Follow the bucket for as long as the daemon runs (one watcher: every put and delete of every machine lands in
   * memory as it happens), so `list --all` is a read of memory, not of the hub. Resolves once the bucket's current
   * content is in.
   */
  async follow(): Promise<void> {
    const status = await this.kv.status();
    const w = await this.kv.watch();
    this.watcher = w;
    let loaded!: () => void;
    const initial = new Promise<void>((resolve) => (loaded = resolve));
    if (status.values === 0) loaded();
    void (async () => {
      for await (const e of w) {
        if (e.operation === 'PUT') this.entries.set(e.key, e.value);
        else this.entries.delete(e.key);
        if (e.delta === 0) loaded();
      }
    })().catch((err: unknown) => this.deps.log.warn(`fleet: the directory watch ended: ${describeError(err)}`));
    await initial;
  }

  /** Every machine and its sessions: from the followed bucket when following, else one read of it. */
  async listAll(): Promise<MachineListing[]> {
    const entries = this.watcher ? this.entries : await this.readOnce();
    const machines = new Map<string, MachineListing>();
    const get = (m: string): MachineListing => {
      let l = machines.get(m);
      if (!l) machines.set(m, (l = { machine: m, reachable: false, last_seen: null, sessions: [] }));
      return l;
    };
    const now = this.deps.now();
    for (const [key, value] of entries) {
      const dot = key.indexOf('.');
      const machine = tokenId(key.slice(0, dot));
      const rest = key.slice(dot + 1);
      if (machine === null) continue;
      const v = parseJson(value);
      if (rest === '_presence' && isRecord(v) && typeof v.ts === 'number') {
        const l = get(machine);
        l.last_seen = v.ts;
        l.reachable = v.left !== true && now - v.ts <= this.timings.presenceLapseMs;
      } else if (tokenId(rest) !== null && isRecord(v)) {
        get(machine).sessions.push(v);
      }
    }
    const self = get(this.self);
    self.reachable = true;
    return [...machines.values()].sort((a, b) => (a.machine === this.self ? -1 : b.machine === this.self ? 1 : a.machine.localeCompare(b.machine)));
  }

  /** The bucket's current content, read once (a watcher stopped at its end). */
  private async readOnce(): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    if ((await this.kv.status()).values === 0) return out;
    const w = await this.kv.watch();
    try {
      for await (const e of w) {
        if (e.operation === 'PUT') out.set(e.key, e.value);
        else out.delete(e.key);
        if (e.delta === 0) break;
      }
    } finally {
      w.stop();
    }
    return out;
  }
}

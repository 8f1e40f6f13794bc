import type { EventSink } from '../../protocol/events.js';
import { TeleptyError, isTeleptyError } from '../../protocol/errors.js';
import { DebouncedJsonFile } from '../../util/json-file.js';
import type { Logger } from '../../util/log.js';

const RECORDS_FILE_VERSION = 1;

interface RecordsFile<T> {
  version: typeof RECORDS_FILE_VERSION;
  records: T[];
}

/**
 * Records kept by id in memory and persisted to one JSON file (atomic, debounced). At most `max` records:
 * beyond that the oldest `evictable` ones go first. Invalid entries in the file are dropped on load.
 */
export class RecordStore<T> {
  private readonly byId = new Map<string, T>();
  private readonly json: DebouncedJsonFile<RecordsFile<T>>;

  constructor(
    file: string,
    private readonly opts: { idOf: (r: T) => string; isValid: (v: unknown) => v is T; evictable: (r: T) => boolean; max: number },
    log: Logger,
    debounceMs: number,
  ) {
    this.json = new DebouncedJsonFile(file, () => ({ version: RECORDS_FILE_VERSION, records: [...this.byId.values()] }), log, debounceMs);
  }

  async load(): Promise<number> {
    const raw = await this.json.loadRaw();
    if (raw === undefined) return 0;
    const f = raw as Partial<RecordsFile<T>> | null;
    if (typeof f !== 'object' || f === null || f.version !== RECORDS_FILE_VERSION || !Array.isArray(f.records)) {
      await this.json.setAside(`not a version ${RECORDS_FILE_VERSION} records file`);
      return 0;
    }
    for (const r of f.records) if (this.opts.isValid(r)) this.byId.set(this.opts.idOf(r), r);
    return this.byId.size;
  }

  enable(): void {
    this.json.enable();
  }

  flush(): Promise<void> {
    return this.json.flush();
  }

  /** Resolves once every change so far is on disk; rejects with PERSIST_FAILED (the file is retried until written). */
  settle(): Promise<void> {
    return this.json.settle();
  }

  get(id: string): T | undefined {
    return this.byId.get(id);
  }

  list(): T[] {
    return [...this.byId.values()];
  }

  /** Add or replace a record, evicting the oldest evictable ones past the bound. */
  put(r: T): void {
    this.byId.set(this.opts.idOf(r), r);
    if (this.byId.size > this.opts.max) {
      for (const [id, old] of this.byId) {
        if (this.byId.size <= this.opts.max) break;
        if (this.opts.evictable(old)) this.byId.delete(id);
      }
    }
    this.json.schedule();
  }

  /** Forget a record (written with the next write). */
  remove(id: string): void {
    if (this.byId.delete(id)) this.json.schedule();
  }

  /** A record changed in place. */
  touched(): void {
    this.json.schedule();
  }
}

export interface RecordsDeps {
  file: string;
  events: EventSink;
  now: () => number;
  log: Logger;
  debounceMs: number;
}

/** A domain of persisted records (handoffs, threads): its store, its events, and the daemon's life cycle. */
export abstract class PersistedRecords<T> {
  protected readonly store: RecordStore<T>;
  protected readonly events: EventSink;
  protected readonly now: () => number;
  private readonly log: Logger;

  private readonly idOf: (r: T) => string;

  constructor(deps: RecordsDeps, opts: ConstructorParameters<typeof RecordStore<T>>[1]) {
    this.store = new RecordStore<T>(deps.file, opts, deps.log, deps.debounceMs);
    this.idOf = opts.idOf;
    this.log = deps.log;
    this.events = deps.events;
    this.now = deps.now;
  }

  /** Read the file (before the daemon listens). */
  load(): Promise<number> {
    return this.store.load();
  }

  /** This daemon won the claim: start writing. */
  enable(): void {
    this.store.enable();
  }

  /** The last write, at shutdown: a disk that refuses it leaves the file as it was, and the log says so. */
  async flush(): Promise<void> {
    await this.store.flush().catch((err: unknown) => this.log.error('a records file could not be written at shutdown', err));
  }

  /**
   * Adds `r`, resolved once it is on disk. A write the disk refuses takes it back out (so it is not written later
   * either) and rejects with PERSIST_FAILED, its message beginning with `what` (`<what> could not be kept on disk`).
   */
  protected async putOnDisk(r: T, what: string): Promise<void> {
    this.store.put(r);
    try {
      await this.store.settle();
    } catch (err) {
      this.store.remove(this.idOf(r));
      if (isTeleptyError(err) && err.code === 'PERSIST_FAILED') throw new TeleptyError('PERSIST_FAILED', `${what} could not be kept on disk (${err.message}); nothing was typed`, err.details);
      throw err;
    }
  }

  /**
   * `result`, once the change that made it is on disk. A write the disk refuses answers PERSIST_FAILED: the change
   * stays in memory and is written as soon as the disk takes it (the file is retried), and the answer says so.
   */
  async saved<R>(result: R): Promise<R> {
    try {
      await this.store.settle();
    } catch (err) {
      if (isTeleptyError(err) && err.code === 'PERSIST_FAILED') {
        throw new TeleptyError('PERSIST_FAILED', `${err.message}; the change is kept and written as soon as the disk takes it`, err.details);
      }
      throw err;
    }
    return result;
  }
}

import { isBoolean, isNumber, isString, nullable, shape } from '../../protocol/guard.js';
import { PersistedRecords, type RecordsDeps } from '../records/record-store.js';

/**
 * A routed turn followed to its `turn_complete`, as it is kept on disk from before its prompt is handed to the
 * session's host until its `turn_complete` is published: a daemon killed meanwhile leaves it to the next daemon,
 * which follows it on (daemon/inject/turns.ts `TurnFollower.restore`) instead of never closing the turn.
 */
export interface FollowedTurn {
  inject_id: string;
  /** The session's id as the router resolved it, and the turn_request's target as given (`id` or `id@machine`). */
  session_id: string;
  target: string;
  /** The prompt and its sender: a job the last daemon may not have handed on is handed again under the same id. */
  text: string;
  from: string | null;
  reply_to: string | null;
  thread_id: string | null;
  turn_id: string | null;
  original_message_id: string;
  source_host: string;
  /** When the turn_request was routed (epoch ms): bounds a turn whose submission is not known. */
  created_at: number;
  /** When its prompt was submitted (epoch ms), once known: TURN_MAX_MS counts from here, across restarts too. */
  submitted_at: number | null;
  /**
   * Set, and on disk, before `turn_complete` is published: a record found so at a start was published (or its daemon
   * died in the instant between this write and the publish) and is never published again.
   */
  published: boolean;
}

/** What the turn follower needs of the store (absent: turns are followed in memory only). */
export interface TurnFollowStore {
  /** Resolves once the turn is on disk; rejects with PERSIST_FAILED, and then keeps nothing of it. */
  keep(t: FollowedTurn): Promise<void>;
  /** Its prompt was submitted at `at`: written with the next write. */
  submitted(injectId: string, at: number): void;
  /** Resolves once the turn is on disk as published (rejects with PERSIST_FAILED; the mark is still written later). */
  publishing(injectId: string): Promise<void>;
  /** Its turn ended (turn_complete published, or no turn: the inject failed): forgotten with the next write. */
  forget(injectId: string): void;
}

/**
 * Turns followed at most: a routed turn is followed an hour at most (TURN_MAX_MS) and each session takes at most
 * 1,000 prompts (the injector's bound); past this (hundreds of sessions each full) the oldest go first.
 */
const MAX_FOLLOWED = 100_000;

const isFollowedTurn = shape<FollowedTurn>({
  inject_id: isString,
  session_id: isString,
  target: isString,
  text: isString,
  from: nullable(isString),
  reply_to: nullable(isString),
  thread_id: nullable(isString),
  turn_id: nullable(isString),
  original_message_id: isString,
  source_host: isString,
  created_at: isNumber,
  submitted_at: nullable(isNumber),
  published: isBoolean,
});

/** turn-follows.json: the routed turns whose `turn_complete` this daemon still owes. */
export class TurnFollows extends PersistedRecords<FollowedTurn> implements TurnFollowStore {
  constructor(deps: RecordsDeps) {
    super(deps, { idOf: (t) => t.inject_id, isValid: isFollowedTurn, evictable: () => true, max: MAX_FOLLOWED });
  }

  list(): FollowedTurn[] {
    return this.store.list();
  }

  keep(t: FollowedTurn): Promise<void> {
    // Refused: not followed, so not left to be written later and followed by the next daemon.
    return this.putOnDisk(t, 'the routed turn');
  }

  submitted(injectId: string, at: number): void {
    const t = this.store.get(injectId);
    if (!t) return;
    t.submitted_at = at;
    this.store.touched();
  }

  async publishing(injectId: string): Promise<void> {
    const t = this.store.get(injectId);
    if (!t) return;
    t.published = true;
    this.store.touched();
    await this.store.settle();
  }

  forget(injectId: string): void {
    this.store.remove(injectId);
  }
}

import { isBoolean, isNumber, isRecord, isString, nullable, oneOf, optional, shape } from '../../protocol/guard.js';
import type { InjectOptions } from '../../protocol/inject.js';
import { PersistedRecords, type RecordsDeps } from '../records/record-store.js';
import type { InjectOrigin } from '../target.js';

/**
 * A prompt held in the daemon for `when: "idle"`, as it is kept on disk from its "queued" answer until its hold ends
 * (handed to the session's host, whose memory then keeps it, or withdrawn): a daemon killed meanwhile leaves it to the
 * next daemon, which holds it again, instead of losing it without a word.
 */
export interface HeldPrompt {
  inject_id: string;
  session_id: string;
  text: string;
  enter_only: boolean;
  /** As asked, but `wait: false`: the caller that waited went with the daemon. */
  opts: InjectOptions;
  origin: InjectOrigin;
  /** When it was asked (epoch ms): its timeout counts from here, across restarts too. */
  created_at: number;
}

/** What the injector needs of the store. */
export interface HeldPromptStore {
  /** Resolves once the prompt is on disk; rejects with PERSIST_FAILED, and then keeps nothing of it. */
  keep(p: HeldPrompt): Promise<void>;
  /** Its hold ended: forgotten (written with the next write). */
  forget(injectId: string): void;
}

/**
 * Held prompts kept at most: the injector holds at most 1,000 per session; past this bound (hundreds of sessions
 * each full) the oldest go first.
 */
const MAX_HELD = 100_000;

const isOptions = shape<InjectOptions>({
  from: nullable(isString),
  reply_to: nullable(isString),
  thread_id: nullable(isString),
  reply_expected: isBoolean,
  no_enter: isBoolean,
  wait: isBoolean,
  timeout_ms: isNumber,
  force: optional(isBoolean),
  when: oneOf('idle'),
});
const isOrigin = shape<InjectOrigin>({ source_type: oneOf('api', 'bus_auto_route'), extra: optional(isRecord) });
const isHeldPrompt = shape<HeldPrompt>({
  inject_id: isString,
  session_id: isString,
  text: isString,
  enter_only: isBoolean,
  opts: isOptions,
  origin: isOrigin,
  created_at: isNumber,
});

/** held-prompts.json: the `when: "idle"` prompts this daemon holds. */
export class HeldPrompts extends PersistedRecords<HeldPrompt> implements HeldPromptStore {
  constructor(deps: RecordsDeps) {
    super(deps, { idOf: (p) => p.inject_id, isValid: isHeldPrompt, evictable: () => true, max: MAX_HELD });
  }

  list(): HeldPrompt[] {
    return this.store.list();
  }

  keep(p: HeldPrompt): Promise<void> {
    // Refused: not held, so not left to be written later and held by the next daemon.
    return this.putOnDisk(p, 'the prompt held for idle');
  }

  forget(injectId: string): void {
    this.store.remove(injectId);
  }
}

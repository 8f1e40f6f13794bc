import type { Handoff, HandoffSummary } from './handoffs.js';
import type { Thread } from './threads.js';

/**
 * The 0.1.53 shapes of handoff and thread records, added beside ours so the seed's clients read them unchanged:
 * `id` next to `handoff_id`/`thread_id`, progress entries with `timestamp` next to `at`, threads with
 * `participant_count` and `updated_at`. (The original CLI reads `h.id`, `t.participant_count`, `p.timestamp`.)
 */
export function handoffSummaryView(h: HandoffSummary): HandoffSummary & { id: string } {
  return { id: h.handoff_id, ...h };
}

export type HandoffView = Omit<Handoff, 'progress'> & { id: string; progress: (Handoff['progress'][number] & { timestamp: string })[] };

export function handoffView(h: Handoff): HandoffView {
  return { id: h.handoff_id, ...h, progress: h.progress.map((p) => ({ ...p, timestamp: p.at })) };
}

export type ThreadView = Thread & { id: string; participant_count: number; updated_at: string };

export function threadView(t: Thread): ThreadView {
  return {
    id: t.thread_id,
    ...t,
    participant_count: t.participant_session_ids.length,
    // Records written before updated_at was kept: their last change is their closing, or their creation.
    updated_at: t.updated_at ?? t.closed_at ?? t.created_at,
  };
}

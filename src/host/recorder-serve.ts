/**
 * The recording's writer (issue 22): a CastRecorder and its UTF-8 checks, JSON escaping and file writes, fed by the
 * host's batches (recorder-batches.ts): calm output in memory (each batch acknowledged once it is copied, so the host
 * can bound what it has in flight), and a flood the host appended to the spool file itself, announced once output
 * calmed (recorder-spool-writer.ts), which it converts and then says so. Every event keeps the time the host gave it.
 * It runs in the host's own thread (recorder-batches.ts, openInHost); an idle worker thread cost the host 40-80 ms of
 * CPU per 40 MB flood (bench/record-overhead.md).
 */
import path from 'node:path';
import { CastRecorder } from '../terminal/recorder.js';
import { CastSpool, type SpoolClock } from '../terminal/recorder-spool.js';
import { recoverSpools } from '../terminal/recorder-spool-recovery.js';
import type { RecorderReply, RecorderRequest } from './recorder-messages.js';

/** Replies go back through `reply`; returns the handler of the host's requests. */
export function serveRecorder(reply: (m: RecorderReply) => void, o: { writeBytes?: number } = {}): (m: RecorderRequest) => void {
  let recorder: CastRecorder | null = null;
  let spool: CastSpool | null = null;
  /** The time of the event being recorded (the host's clock), as the recorder's clock. */
  const clock: SpoolClock = { at: Date.now() };
  return (m) => {
    if (m.t === 'open') {
      clock.at = m.at;
      CastRecorder.open({ ...m.opts, now: () => clock.at, ...(o.writeBytes !== undefined ? { writeBytes: o.writeBytes } : {}) }).then(
        (r) => {
          recorder = r;
          spool = new CastSpool(r, clock, m.opts, (to) => reply({ t: 'unspooled', to }));
          reply({ t: 'opened' });
          // Spools that hosts which ended left in this folder are converted now, off the session's path.
          recoverSpools(path.dirname(m.opts.file)).catch((err: unknown) => console.error('telepty: recovering recording spools failed:', err));
        },
        (err: unknown) => reply({ t: 'failed', errno: (err as NodeJS.ErrnoException).code ?? null, message: err instanceof Error ? err.message : String(err) }),
      );
    } else if (m.t === 'spooled') {
      spool?.spooled(m.from, m.to);
    } else if (m.t === 'events') {
      // Taken (copied): the host no longer counts it in flight.
      reply({ t: 'acked', bytes: spool ? spool.add(m.events, m.data) : 0 });
    } else {
      const r = recorder;
      const s = spool;
      recorder = null;
      spool = null;
      if (!r || !s) return reply({ t: 'closed', files: [], dropped_bytes: 0, error: null });
      // The output dropped is the recorder's and the spool's (stats read once the close has settled).
      const closed = (error: string | null): void => reply({ t: 'closed', ...r.stats, dropped_bytes: r.stats.dropped_bytes + s.dropped_bytes, error });
      s.close().then(
        () => closed(null),
        (err: unknown) => closed(err instanceof Error ? err.message : String(err)),
      );
    }
  };
}

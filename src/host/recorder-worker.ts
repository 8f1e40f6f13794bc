/**
 * The recording's writer thread (issue 22): a CastRecorder and its UTF-8 checks, JSON escaping and file writes,
 * away from the session host's event loop. The host posts calm output in batches (recorder-thread.ts); each batch is
 * acknowledged once it is copied, so the host can bound what it has in flight. A flood the host appends to the spool
 * file itself and announces once output calms (recorder-spool-writer.ts): this thread then converts the records and
 * says when it has. Every event keeps the time the host gave it.
 */
import path from 'node:path';
import { parentPort } from 'node:worker_threads';
import { CastRecorder } from '../terminal/recorder.js';
import { CastSpool, type SpoolClock } from '../terminal/recorder-spool.js';
import { recoverSpools } from '../terminal/recorder-spool-recovery.js';
import { isRecorderRequest, type RecorderReply } from './recorder-messages.js';

const port = parentPort;
let recorder: CastRecorder | null = null;
let spool: CastSpool | null = null;
/** The time of the event being recorded (the host's clock), as the recorder's clock. */
const clock: SpoolClock = { at: Date.now() };

function reply(m: RecorderReply, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(m, transfer);
}

port?.on('message', (raw: unknown) => {
  if (!isRecorderRequest(raw)) return;
  const m = raw;
  if (m.t === 'open') {
    clock.at = m.at;
    CastRecorder.open({ ...m.opts, now: () => clock.at }).then(
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
    const bytes = spool ? spool.add(m.events, m.data) : 0;
    // Taken (copied): the batch's memory goes back to the host for its next batches.
    const memory = m.data.buffer;
    if (memory instanceof ArrayBuffer) reply({ t: 'acked', bytes, buffer: memory }, [memory]);
    else reply({ t: 'acked', bytes });
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
});

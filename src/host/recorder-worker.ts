/**
 * The recording's writer thread (issue 22): a CastRecorder and its UTF-8 checks, JSON escaping and file writes,
 * away from the session host's event loop. The host posts events in batches (recorder-thread.ts); each batch is
 * acknowledged once it is queued here, so the host can bound what it has in flight. Every event keeps the time the
 * host gave it.
 */
import { parentPort } from 'node:worker_threads';
import { CastRecorder } from '../terminal/recorder.js';
import { isRecorderRequest, type RecorderReply, type ThreadEvent } from './recorder-messages.js';

const port = parentPort;
let recorder: CastRecorder | null = null;
/** The time of the event being recorded (the host's clock), as the recorder's clock. */
let current = Date.now();

function reply(m: RecorderReply, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(m, transfer);
}

/** One event; output takes its bytes from `data` at `offset`. Returns the output bytes it took. */
function record(ev: ThreadEvent, data: Buffer, offset: number): number {
  current = ev.at;
  if (ev.code === 'o') {
    recorder?.outputBytes(data.subarray(offset, offset + ev.len));
    return ev.len;
  }
  if (!recorder) return 0;
  switch (ev.code) {
    case 'i':
      recorder.input(ev.data);
      return 0;
    case 'r':
      recorder.resize(ev.cols, ev.rows);
      return 0;
    case 'm':
      recorder.marker(ev.data);
      return 0;
    case 'x':
      recorder.exit(ev.status);
      return 0;
  }
}

port?.on('message', (raw: unknown) => {
  if (!isRecorderRequest(raw)) return;
  const m = raw;
  if (m.t === 'open') {
    current = m.at;
    CastRecorder.open({ ...m.opts, now: () => current }).then(
      (r) => {
        recorder = r;
        reply({ t: 'opened' });
      },
      (err: unknown) => reply({ t: 'failed', errno: (err as NodeJS.ErrnoException).code ?? null, message: err instanceof Error ? err.message : String(err) }),
    );
  } else if (m.t === 'events') {
    const data = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
    let bytes = 0;
    for (const ev of m.events) bytes += record(ev, data, bytes);
    // Everything is queued (copied where kept): the batch's memory goes back to the host for its next batches.
    const memory = m.data.buffer;
    if (memory instanceof ArrayBuffer) reply({ t: 'acked', bytes, buffer: memory }, [memory]);
    else reply({ t: 'acked', bytes });
  } else {
    const r = recorder;
    recorder = null;
    if (!r) return reply({ t: 'closed', files: [], dropped_bytes: 0, error: null });
    r.close().then(
      () => reply({ t: 'closed', ...r.stats, error: null }),
      (err: unknown) => reply({ t: 'closed', ...r.stats, error: err instanceof Error ? err.message : String(err) }),
    );
  }
});

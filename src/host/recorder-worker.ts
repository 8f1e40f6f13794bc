/** The recording's writer thread (issue 22): recorder-serve.ts in a worker thread of its own. */
import { parentPort } from 'node:worker_threads';
import { isRecorderRequest } from './recorder-messages.js';
import { serveRecorder } from './recorder-serve.js';

const port = parentPort;
const serve = serveRecorder((m, transfer = []) => port?.postMessage(m, transfer));
port?.on('message', (raw: unknown) => {
  if (isRecorderRequest(raw)) serve(raw);
});

import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { attach } from '../../../src/client/attach.js';
import { DaemonClient } from '../../../src/client/daemon-client.js';
import type { DaemonHandle } from '../../../src/wire/discovery.js';
import type { TeleptyConfig } from '../../../src/util/config.js';

const servers: WebSocketServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    for (const c of s.clients) c.terminate();
    await new Promise((r) => s.close(r));
  }
});

/** A stand-in daemon on loopback that sends a viewer the given frames, in order, as soon as it connects. */
async function daemonSending(frames: string[]): Promise<DaemonClient> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(wss);
  wss.on('connection', (ws) => {
    for (const f of frames) ws.send(f, { binary: false });
  });
  await new Promise((r) => wss.once('listening', r));
  const { port } = wss.address() as AddressInfo;
  // attach reads only the endpoint of the client (a proven one: it has meta).
  return new DaemonClient({ endpoint: { host: '127.0.0.1', port }, meta: {}, record: null } as unknown as DaemonHandle, {} as TeleptyConfig, () => Promise.reject(new Error('no rediscovery here')));
}

function collect(stream: PassThrough): () => string {
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return () => text;
}

describe('attach', () => {
  it('skips malformed frames from the daemon (telling the user once) and keeps showing the session', async () => {
    const client = await daemonSending([
      '{"type":"replay","data":"screen "}',
      'not json',
      '{"type":"output","data":{"evil":true}}',
      '{"type":"exit","code":"0"}',
      '[1,2]',
      '{"type":"output","data":"live"}',
      '{"type":"exit","code":7}',
    ]);
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out = collect(stdout);
    const err = collect(stderr);
    const end = await attach(client, 'x', {
      detachKey: '\x1d',
      stdin: stdin as unknown as NodeJS.ReadStream,
      stdout: stdout as unknown as NodeJS.WriteStream,
      stderr: stderr as unknown as NodeJS.WriteStream,
      terminal: { raw: () => ({ restore: () => undefined }), size: () => ({ cols: 0, rows: 0 }) },
    });
    // The malformed exit frame did not end it: the valid one after the live output did.
    expect(end).toEqual({ reason: 'exited', code: 7 });
    expect(out()).toBe('\x1b[H\x1b[2Jscreen live');
    expect(err().match(/ignored a malformed frame/g)).toHaveLength(1);
    expect(err()).toContain('[session x exited with code 7]');
  });
});

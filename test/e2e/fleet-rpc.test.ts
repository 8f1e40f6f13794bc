import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callMachine, serveMachine } from '../../src/fleet/rpc.js';
import { TeleptyError } from '../../src/protocol/errors.js';
import { exitCodeFor } from '../../src/ui/exit.js';
import { natsServerPath, startHub, type TestHub } from '../helpers/nats.js';
import { RecordingLogger } from '../helpers/recorders.js';

describe.skipIf(natsServerPath() === null)('requests between machines over a real hub', () => {
  let hub: TestHub;
  const log = new RecordingLogger();
  let release: () => void = () => undefined;

  beforeAll(async () => {
    hub = await startHub(['desk', 'laptop']);
    serveMachine(hub.conns.laptop!, 'laptop', async (route, body) => {
      if (route.op === 'list') return { sessions: [{ id: 'dev-001' }], asked_by: route.caller, body };
      if (route.op === 'screen') throw new TeleptyError('SESSION_NOT_FOUND', 'no session "ghost" on laptop');
      if (route.op === 'wait') await new Promise<void>((r) => (release = r));
      throw new Error('disk on fire /home/secret/path');
    }, log);
    await hub.conns.laptop!.flush();
  }, 30_000);

  afterAll(async () => {
    release();
    await hub?.stop();
  });

  it('answers with the result, the caller proven by the hub', async () => {
    expect(await callMachine(hub.conns.desk!, 'desk', 'laptop', 'list', { all: true })).toEqual({ sessions: [{ id: 'dev-001' }], asked_by: 'desk', body: { all: true } });
  });

  it('gives back the remote error as the same typed error, with the same exit code', async () => {
    const err = await callMachine(hub.conns.desk!, 'desk', 'laptop', 'screen', { id: 'ghost' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TeleptyError);
    expect(err).toMatchObject({ code: 'SESSION_NOT_FOUND', message: 'no session "ghost" on laptop' });
    expect(exitCodeFor(err)).toBe(3);
  });

  it('hides an unexpected failure behind a generic error, logged on the machine it happened', async () => {
    const err = await callMachine(hub.conns.desk!, 'desk', 'laptop', 'kill', {}).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INTERNAL' });
    expect(String((err as Error).message)).not.toContain('/home/secret');
    expect(log.lines.some((l) => l.level === 'error' && /disk on fire/.test(String(l.err)))).toBe(true);
  });

  it('says HOST_OFFLINE at once for a machine with no daemon on the hub (exit 4)', async () => {
    const t0 = Date.now();
    const err = await callMachine(hub.conns.desk!, 'desk', 'cloud1', 'inject', {}, 5_000).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'HOST_OFFLINE', details: { machine: 'cloud1' } });
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(exitCodeFor(err)).toBe(4);
  });

  it('says HOST_TIMEOUT for a connected machine that does not answer in time (exit 7: it may have acted)', async () => {
    const err = await callMachine(hub.conns.desk!, 'desk', 'laptop', 'wait', {}, 300).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'HOST_TIMEOUT' });
    expect(exitCodeFor(err)).toBe(7);
  });
});

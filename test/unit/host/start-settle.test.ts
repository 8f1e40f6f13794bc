import { describe, expect, it } from 'vitest';
import { StartSettle } from '../../../src/host/start-settle.js';
import { sleep, waitFor } from '../../helpers/env.js';

const AFTER = 60;
const QUIET = 40;

describe('StartSettle (a host settles its start once, when its session is quiet)', () => {
  it('settles once, AFTER its start, when nothing was output', async () => {
    const t0 = Date.now();
    let at = 0;
    let settled = 0;
    new StartSettle(
      () => {
        settled++;
        at = Date.now();
      },
      { afterMs: AFTER, quietMs: QUIET },
    );
    await waitFor('the settle', () => settled === 1, 5_000, 5);
    expect(at - t0).toBeGreaterThanOrEqual(AFTER - 2);
    await sleep(AFTER * 3);
    expect(settled).toBe(1);
  });

  it('waits while output flows, and settles QUIET after the last of it', async () => {
    let settled = 0;
    let at = 0;
    const s = new StartSettle(
      () => {
        settled++;
        at = Date.now();
      },
      { afterMs: AFTER, quietMs: QUIET },
    );
    const t0 = Date.now();
    let last = t0;
    while (Date.now() - t0 < AFTER * 3) {
      s.write();
      last = Date.now();
      await sleep(10);
    }
    expect(settled).toBe(0);
    await waitFor('the settle', () => settled === 1, 5_000, 5);
    expect(at - last).toBeGreaterThanOrEqual(QUIET - 2);
  });

  it('never settles once ended (the start ended otherwise: V8 collected, a flood, the exit)', async () => {
    let settled = 0;
    const s = new StartSettle(() => settled++, { afterMs: AFTER, quietMs: QUIET });
    s.end();
    await sleep(AFTER * 3);
    expect(settled).toBe(0);
  });
});

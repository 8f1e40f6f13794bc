import { EventEmitter } from 'node:events';
import type WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { watchHeartbeat } from '../../../../src/daemon/ws/heartbeat.js';

/** A socket stand-in: counts pings; the test emits pong, message and close. */
class FakeSocket extends EventEmitter {
  pings = 0;
  ping(): void {
    this.pings++;
  }
}

function watched(intervalMs: number): { ws: FakeSocket; silent: () => number } {
  const ws = new FakeSocket();
  let silent = 0;
  watchHeartbeat(ws as unknown as WebSocket, intervalMs, () => silent++);
  return { ws, silent: () => silent };
}

describe('link heartbeat', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('pings every interval and gives up on a peer silent for a whole interval', () => {
    const { ws, silent } = watched(100);
    vi.advanceTimersByTime(100);
    expect(ws.pings).toBe(1);
    vi.advanceTimersByTime(100);
    expect(silent()).toBe(1);
  });

  it('counts a pong or any message as a sign of life', () => {
    const { ws, silent } = watched(100);
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(100);
      ws.emit(i % 2 === 0 ? 'pong' : 'message', Buffer.from('x'), false);
    }
    expect(silent()).toBe(0);
    expect(ws.pings).toBe(5);
  });

  it('gives no verdict on a beat that came late (the daemon was held up, the pong may be unread)', () => {
    const { ws, silent } = watched(100);
    vi.advanceTimersByTime(100);
    expect(ws.pings).toBe(1);
    // The loop was blocked: the clock moved far past the next beat before it ran.
    vi.setSystemTime(Date.now() + 1_000);
    vi.advanceTimersByTime(100);
    expect(silent()).toBe(0);
    // The next beat is on time and still nothing came: now it is silence.
    vi.advanceTimersByTime(100);
    expect(silent()).toBe(1);
  });

  it('stops when the socket closes', () => {
    const { ws, silent } = watched(100);
    ws.emit('close');
    vi.advanceTimersByTime(1_000);
    expect(ws.pings).toBe(0);
    expect(silent()).toBe(0);
  });
});

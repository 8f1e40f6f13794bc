import { afterEach, describe, expect, it } from 'vitest';
import { noProgress, startProgress, useProgress } from '../../../src/client/progress.js';

afterEach(() => useProgress(() => noProgress));

describe('the client\'s progress display', () => {
  it('shows nothing until the program gives it a display, then shows every wait there', () => {
    expect(startProgress('waiting')).toBe(noProgress);
    const shown: string[] = [];
    useProgress((text) => {
      shown.push(`start ${text}`);
      return { update: (t) => shown.push(`update ${t}`), done: () => shown.push('done') };
    });
    const p = startProgress('starting the telepty daemon…');
    p.update('still starting');
    p.done();
    expect(shown).toEqual(['start starting the telepty daemon…', 'update still starting', 'done']);
  });
});

/** Settle with `p`, or reject with `onTimeout()` after `ms` (the timer is always cleared). */
export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Whether `p` settles within `ms` (withTimeout's race, its timer always cleared); its rejection counts as settling. */
export function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  const late = new Error('not settled in time');
  return withTimeout(
    p.then(
      () => true,
      () => true,
    ),
    ms,
    () => late,
  ).catch((err: unknown) => {
    if (err !== late) throw err;
    return false;
  });
}

/** Callers waiting for one thing to happen (a link up, a queue run dry): each hears true when it does, or false after its own bound. */
export class Waiters {
  private readonly waiting = new Set<() => void>();

  wait(maxMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(done);
        resolve(false);
      }, maxMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiting.add(done);
    });
  }

  /** Every caller waiting now hears true. */
  wake(): void {
    const now = [...this.waiting];
    this.waiting.clear();
    for (const done of now) done();
  }
}

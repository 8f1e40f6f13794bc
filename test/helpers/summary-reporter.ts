import type { Reporter, TestModule } from 'vitest/node';

export interface TestCounts {
  passed: number;
  failed: number;
  skipped: number;
}

/**
 * The closing text: skips (if any) on their own line, then always exactly `tests: N passed, N failed` as the
 * last line, which is what CI reads.
 */
export function formatSummary(counts: TestCounts): string {
  const skips = counts.skipped ? `skipped: ${counts.skipped}\n` : '';
  return `\n${skips}tests: ${counts.passed} passed, ${counts.failed} failed\n`;
}

/** CI does not read vitest's own summary: print one plain closing line, `tests: N passed, N failed`. */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of testModules) {
      let failedHere = 0;
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failedHere++;
        else skipped++;
      }
      // A file that failed to load, or whose hook failed (its tests then show as skipped), must not read as green.
      if (mod.state() === 'failed' && failedHere === 0) failedHere = 1;
      failed += failedHere;
    }
    failed += unhandledErrors.length;
    process.stdout.write(formatSummary({ passed, failed, skipped }));
  }
}

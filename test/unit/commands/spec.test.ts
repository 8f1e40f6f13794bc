import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { spec as injectSpec, parseFast } from '../../../src/commands/inject.js';
import { optionKey, parseWithSpec, registerSpec } from '../../../src/commands/spec.js';

/** What commander makes of the same argv, from the same spec: the fast path must agree with it. */
async function viaCommander(argv: string[]): Promise<{ args: unknown[]; opts: Record<string, unknown> }> {
  const program = new Command('telepty').exitOverride();
  let seen: { args: unknown[]; opts: Record<string, unknown> } | undefined;
  registerSpec(program, injectSpec, async (...a: unknown[]) => {
    const cmd = a[a.length - 1] as Command;
    seen = { args: a.slice(0, -2), opts: cmd.opts() };
  });
  await program.parseAsync(['inject', ...argv], { from: 'user' });
  if (!seen) throw new Error('commander did not run the action');
  return seen;
}

describe('command spec', () => {
  it('maps flags to the keys commander uses', () => {
    expect(optionKey('reply-to')).toBe('replyTo');
    expect(optionKey('no-wait')).toBe('wait');
    expect(optionKey('json')).toBe('json');
  });

  for (const argv of [
    ['dev-001', 'review', 'the', 'auth', 'module'],
    ['dev-001,dev-002', '--no-wait', '--timeout', '5', 'run tests'],
    ['--all', 'status', '--json'],
    ['dev-001', '--file', 'p.md', '--from', 'alice', '--reply-to', 'bob', '--thread', 't1', '--reply-expected', '--no-enter'],
    ['dev-001', '--', '--looks-like-a-flag'],
    ['dev-001', '--wait', '--timeout', '2', 'hi'],
    ['dev-001', '--no-wait', '--wait', 'last one wins'],
    ['dev-001', '--wait', '--no-wait', 'last one wins'],
  ]) {
    it(`parses ${JSON.stringify(argv)} as commander does`, async () => {
      const fast = parseFast(argv);
      expect(fast).not.toBeNull();
      const [targets, words, opts] = fast as NonNullable<typeof fast>;
      const slow = await viaCommander(argv);
      expect([targets, words]).toEqual(slow.args);
      for (const [k, v] of Object.entries(slow.opts)) expect((opts as unknown as Record<string, unknown>)[k], k).toEqual(v);
    });
  }

  it('waits by default; --wait says so explicitly, --no-wait turns it off, and the last of the two wins', async () => {
    const cases: [string[], boolean][] = [
      [['dev-001', 'hi'], true],
      [['dev-001', '--wait', 'hi'], true],
      [['dev-001', '--no-wait', 'hi'], false],
      [['dev-001', '--no-wait', '--wait', 'hi'], true],
      [['dev-001', '--wait', '--no-wait', 'hi'], false],
    ];
    for (const [argv, wait] of cases) {
      expect((parseFast(argv) as NonNullable<ReturnType<typeof parseFast>>)[2].wait, `fast ${argv.join(' ')}`).toBe(wait);
      expect((await viaCommander(argv)).opts.wait, `commander ${argv.join(' ')}`).toBe(wait);
    }
  });

  it('keeps the other negatable flag (--no-enter) on by default and off when given', async () => {
    expect((parseFast(['dev-001', 'hi']) as NonNullable<ReturnType<typeof parseFast>>)[2].enter).toBe(true);
    expect((parseFast(['dev-001', '--no-enter', 'hi']) as NonNullable<ReturnType<typeof parseFast>>)[2].enter).toBe(false);
    expect((await viaCommander(['dev-001', '--no-enter', 'hi'])).opts.enter).toBe(false);
  });

  it('leaves help, unknown options and missing values to the full CLI', () => {
    expect(parseWithSpec(injectSpec, ['dev-001', '--help'])).toBeNull();
    expect(parseWithSpec(injectSpec, ['dev-001', '-h'])).toBeNull();
    expect(parseWithSpec(injectSpec, ['dev-001', '--bogus'])).toBeNull();
    expect(parseWithSpec(injectSpec, ['dev-001', 'text', '--timeout'])).toBeNull();
  });
});

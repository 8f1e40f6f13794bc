import { parseArgs } from 'node:util';
import type { Command } from 'commander';

/**
 * A command's options declared once: commander builds its parser and --help from this, and the fast path (a hot
 * command run without loading commander) parses the same declaration with node:util's parseArgs.
 */
export interface OptionSpec {
  /**
   * Long flag without dashes: 'from' for --from, 'no-wait' for --no-wait (which sets `wait` to false). A flag
   * declared with its `no-` twin ('wait' and 'no-wait') is on by default; the last of the two given wins.
   */
  long: string;
  short?: string;
  /** Placeholder when the option takes a value, e.g. '<id>'. */
  value?: string;
  description: string;
  /** May be given more than once (collected into an array). */
  multiple?: boolean;
}

export interface CommandSpec {
  name: string;
  description: string;
  /** Positional arguments in commander syntax, e.g. ['[targets]', '[text...]']. */
  args: string[];
  options: OptionSpec[];
  /** Shown after the options in --help. */
  helpAfter: string;
}

export type ParsedOptions = Record<string, string | boolean | string[] | undefined>;

/** commander's key for a flag: --reply-to → replyTo, --no-wait → wait. */
export function optionKey(long: string): string {
  return long.replace(/^no-/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Boolean flags that have a `no-` twin (or are only declared as one): 'wait' for --wait/--no-wait, 'enter' for --no-enter. */
function negatableFlags(spec: CommandSpec): Set<string> {
  return new Set(spec.options.filter((o) => o.long.startsWith('no-') && !o.value).map((o) => o.long.slice(3)));
}

/** Add the command to commander from its spec; `action` receives the positionals, then the options. */
export function registerSpec(program: Command, spec: CommandSpec, action: (...args: unknown[]) => Promise<void>): Command {
  const cmd = program.command(spec.name).description(spec.description);
  for (const a of spec.args) cmd.argument(a);
  const negatable = negatableFlags(spec);
  for (const o of spec.options) {
    const flags = `${o.short ? `-${o.short}, ` : ''}--${o.long}${o.value ? ` ${o.value}` : ''}`;
    if (o.multiple) cmd.option(flags, o.description, collect, []);
    else if (negatable.has(o.long)) cmd.option(flags, o.description, true);
    else cmd.option(flags, o.description);
  }
  return cmd.addHelpText('after', spec.helpAfter).action(action);
}

/** A word that starts with '-' but cannot be an option: Markdown's "- item", "-> next", "-1", "- fix the test". */
export function isDashText(word: string): boolean {
  return word.length > 1 && word.startsWith('-') && word !== '--' && (/\s/.test(word) || !/^--?[A-Za-z]/.test(word));
}

/**
 * argv with prompt words that start with '-' (`inject d1 "- fix the test"`) kept as text: when there is such a word,
 * the options the spec knows (and their values) go first and every other word after `--`, in order. Without such
 * a word, or when `--` is already there, argv is returned as it is.
 */
export function textFirst(spec: CommandSpec, argv: string[]): string[] {
  if (argv.includes('--') || !argv.some(isDashText)) return argv;
  const byLong = new Map(spec.options.map((o) => [o.long, o]));
  const byShort = new Map(spec.options.filter((o) => o.short).map((o) => [o.short as string, o]));
  const options: string[] = [];
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const long = /^--([A-Za-z][\w-]*)(=.*)?$/.exec(a);
    const short = /^-([A-Za-z])$/.exec(a);
    const opt = long ? byLong.get(long[1] as string) : short ? byShort.get(short[1] as string) : undefined;
    if (long || short) {
      // An option (known, or unknown and left for the parser to refuse); a known one may take the next word.
      options.push(a);
      if (opt?.value && !long?.[2] && i + 1 < argv.length) options.push(argv[++i] as string);
    } else words.push(a);
  }
  return [...options, '--', ...words];
}

/**
 * Parse argv (after the command name) from the spec without commander. Returns null when anything is out of the
 * ordinary (--help, an unknown option, a missing value): the caller then runs the full commander CLI, which
 * prints the proper help or error.
 */
export function parseWithSpec(spec: CommandSpec, argv: string[]): { positionals: string[]; opts: ParsedOptions } | null {
  if (argv.includes('--help') || argv.includes('-h')) return null;
  argv = textFirst(spec, argv);
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const o of spec.options) options[o.long] = { type: o.value ? 'string' : 'boolean', ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true, tokens: true });
  } catch (err) {
    if (err instanceof TypeError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) return null;
    throw err;
  }
  const negatable = negatableFlags(spec);
  const opts: ParsedOptions = {};
  for (const o of spec.options) {
    const v = (parsed.values as Record<string, string | boolean | string[] | undefined>)[o.long];
    const key = optionKey(o.long);
    if (o.long.startsWith('no-') || negatable.has(o.long)) opts[key] = true;
    else if (o.multiple) opts[key] = (v as string[] | undefined) ?? [];
    else if (v !== undefined) opts[key] = v;
  }
  // A flag and its no- twin set one key, in the order given (as commander does: the last one wins).
  for (const t of parsed.tokens) {
    if (t.kind !== 'option') continue;
    const negated = t.name.startsWith('no-');
    const base = negated ? t.name.slice(3) : t.name;
    if (negatable.has(base)) opts[optionKey(base)] = !negated;
  }
  return { positionals: parsed.positionals, opts };
}

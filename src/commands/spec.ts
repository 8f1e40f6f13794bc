import { parseArgs } from 'node:util';
import type { Command } from 'commander';
import { TeleptyError } from '../protocol/errors.js';

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
  /**
   * Placeholder when the option takes a value: '<id>' (required), or '[file]' (optional: alone the option is `true`;
   * the fast path takes an optional value only as `--record=FILE`, and leaves `--record FILE` to commander).
   */
  value?: string;
  description: string;
  /** May be given more than once (collected into an array, or by `parse`). */
  multiple?: boolean;
  /**
   * commander's coercion, run by the fast path too: each value given, with what the option held before (repeatable
   * options collect through it). A TeleptyError is a bad value: commander reports it as a usage error.
   */
  parse?: (value: string, previous: never) => unknown;
}

export interface CommandSpec {
  name: string;
  description: string;
  /** Positional arguments in commander syntax, e.g. ['[targets]', '[text...]']. */
  args: string[];
  /** Descriptions of the positional arguments shown by --help, by their syntax in `args`. */
  argHelp?: Record<string, string>;
  options: OptionSpec[];
  /** Shown after the options in --help. */
  helpAfter: string;
}

export type ParsedOptions = Record<string, unknown>;

/** commander's key for a flag: --reply-to → replyTo, --no-wait → wait. */
export function optionKey(long: string): string {
  return long.replace(/^no-/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Boolean flags that have a `no-` twin (or are only declared as one): 'wait' for --wait/--no-wait, 'enter' for --no-enter. */
function negatableFlags(options: OptionSpec[]): Set<string> {
  return new Set(options.filter((o) => o.long.startsWith('no-') && !o.value).map((o) => o.long.slice(3)));
}

function hasOptionalValue(o: OptionSpec): boolean {
  return o.value?.startsWith('[') === true;
}

/** Add options to a commander command as the specs say (for a command built from a spec, and shared option groups). */
export function addSpecOptions(cmd: Command, options: OptionSpec[]): Command {
  const negatable = negatableFlags(options);
  for (const o of options) {
    const flags = `${o.short ? `-${o.short}, ` : ''}--${o.long}${o.value ? ` ${o.value}` : ''}`;
    const parse = o.parse;
    if (parse) cmd.option<unknown>(flags, o.description, (value: string, previous: unknown) => parse(value, previous as never));
    else if (o.multiple) cmd.option(flags, o.description, collect, []);
    else if (negatable.has(o.long)) cmd.option(flags, o.description, true);
    else cmd.option(flags, o.description);
  }
  return cmd;
}

/** Add the command to commander from its spec; `action` receives the positionals, then the options. */
export function registerSpec(program: Command, spec: CommandSpec, action: (...args: unknown[]) => Promise<void>): Command {
  const cmd = program.command(spec.name).description(spec.description);
  for (const a of spec.args) cmd.argument(a, spec.argHelp?.[a] ?? '');
  return addSpecOptions(cmd, spec.options).addHelpText('after', spec.helpAfter).action(action);
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
 * Parse argv (after the command name) from the spec without commander, as commander would read it. Returns null when
 * anything is out of the ordinary (--help, an unknown option, a missing or bad value, an optional value given as a
 * separate word): the caller then runs the full commander CLI, which prints the proper help or error.
 */
export function parseWithSpec(spec: CommandSpec, argv: string[]): { positionals: string[]; opts: ParsedOptions } | null {
  if (argv.includes('--help') || argv.includes('-h')) return null;
  argv = textFirst(spec, argv);
  const bare = bareOptionals(spec, argv);
  if (!bare) return null;
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const o of spec.options) options[o.long] = { type: o.value ? 'string' : 'boolean', ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  let parsed;
  try {
    parsed = parseArgs({ args: bare.argv, options, allowPositionals: true, strict: true, tokens: true });
  } catch (err) {
    if (err instanceof TypeError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) return null;
    throw err;
  }
  const byLong = new Map(spec.options.map((o) => [o.long, o]));
  const negatable = negatableFlags(spec.options);
  const opts: ParsedOptions = {};
  // Before any option is read: what commander starts from (a negatable flag on, a plain repeatable option empty).
  for (const o of spec.options) {
    if (o.long.startsWith('no-') || negatable.has(o.long)) opts[optionKey(o.long)] = true;
    else if (o.multiple && !o.parse) opts[optionKey(o.long)] = [];
  }
  for (const long of bare.flags) opts[optionKey(long)] = true;
  try {
    // In the order given, as commander does: the last of a flag and its no- twin wins, values collect in order.
    for (const t of parsed.tokens) {
      if (t.kind !== 'option') continue;
      const o = byLong.get(t.name);
      if (!o) return null;
      const key = optionKey(o.long);
      if (t.value === undefined) opts[key] = !t.name.startsWith('no-');
      else if (o.parse) opts[key] = o.parse(t.value, opts[key] as never);
      else if (o.multiple) opts[key] = [...(opts[key] as string[]), t.value];
      else opts[key] = t.value;
    }
  } catch (err) {
    if (err instanceof TeleptyError) return null;
    throw err;
  }
  return { positionals: parsed.positionals, opts };
}

/**
 * Options with an optional value ('[file]') given alone, before any `--`, taken out of argv (parseArgs knows no
 * optional values). Null when one is followed by a word that commander would take as its value, or is given both
 * alone and with `=value`: those are commander's to read.
 */
function bareOptionals(spec: CommandSpec, argv: string[]): { argv: string[]; flags: string[] } | null {
  const optional = spec.options.filter(hasOptionalValue);
  if (optional.length === 0) return { argv, flags: [] };
  const end = argv.includes('--') ? argv.indexOf('--') : argv.length;
  const kept: string[] = [];
  const flags: string[] = [];
  for (let i = 0; i < end; i++) {
    const a = argv[i] as string;
    const o = optional.find((x) => a === `--${x.long}`);
    if (!o) {
      kept.push(a);
      continue;
    }
    const next = argv[i + 1];
    if (i + 1 < end && next !== undefined && !next.startsWith('-')) return null;
    if (argv.slice(0, end).some((w) => w.startsWith(`--${o.long}=`))) return null;
    flags.push(o.long);
  }
  return { argv: [...kept, ...argv.slice(end)], flags };
}

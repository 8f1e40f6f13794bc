import type { Command } from 'commander';
import { connect, type DaemonClient } from '../client/daemon-client.js';
import { openDaemonSocket } from '../client/ws.js';
import { BUS_CLOSE_TOO_SLOW, BUS_PATH, GAP_KIND, isBusEvent, matchesText, ndjsonLines, type BusEvent } from '../protocol/bus.js';
import { parseJsonFrame } from '../protocol/json.js';
import { FLEET_BUS_PATH } from '../protocol/fleet.js';
import { TeleptyError, isErrorBody, isTeleptyError } from '../protocol/errors.js';
import { EXIT, exitCodeFor } from '../ui/exit.js';
import { exitQuietlyWhenReaderCloses, useColor } from '../ui/print.js';
import { intOption, parseSeconds } from './options.js';
import { examples } from './command-module.js';

interface TailOptions {
  kind: string[];
  excludeKind: string[];
  target?: string;
  source?: string;
  since?: number;
  count?: number;
  /** --timeout, in milliseconds. */
  timeout?: number;
  json?: boolean;
  pretty?: boolean;
  allMachines?: boolean;
}

/** Reconnect delays after the daemon goes away (tail resumes from the last seq it printed). */
const RECONNECT_DELAYS_MS = [100, 250, 500, 1_000];

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const RESERVED = new Set(['version', 'message_id', 'kind', 'type', 'source', 'source_host', 'target', 'ts', 'seq', 'sender', 'timestamp']);

/** A failure worth seeing at a glance: painted apart and never shortened (its error text is the point). */
export function isFailure(ev: BusEvent): boolean {
  return ev.kind.endsWith('_failed') || ev.kind.endsWith('.failed') || ev.kind === GAP_KIND || typeof ev.error === 'string';
}

export interface Painter {
  head(s: string): string;
  failure(s: string): string;
}

/** One readable line per event: time, seq, kind, source → target, then the rest, shortened (failures whole). */
export function prettyEvent(ev: BusEvent, width: number, paint: Painter | null): string {
  const time = typeof ev.ts === 'string' ? ev.ts.slice(11, 23) : '';
  const route = `${ev.source ?? '?'}${ev.target ? ` → ${ev.target}` : ''}`;
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ev)) if (!RESERVED.has(k)) rest[k] = v;
  const head = `${time} #${ev.seq} ${ev.kind} ${route}`;
  let body = JSON.stringify(rest);
  if (isFailure(ev)) return paint ? paint.failure(`${head} ${body}`) : `${head} ${body}`;
  const room = Math.max(20, width - head.length - 1);
  if (body.length > room) body = `${body.slice(0, room - 1)}…`;
  return `${paint ? paint.head(head) : head} ${body}`;
}

/** What a tail on a terminal says first: what it follows and how to stop (a blank screen says nothing). */
export function banner(opts: Pick<TailOptions, 'kind' | 'excludeKind' | 'target' | 'source' | 'since' | 'allMachines'>): string {
  const parts = [
    opts.kind.length > 0 ? `kind ${opts.kind.join(', ')}` : 'every kind',
    ...(opts.excludeKind.length > 0 ? [`except ${opts.excludeKind.join(', ')}`] : []),
    ...(opts.target ? [`target ${opts.target}`] : []),
    ...(opts.source ? [`source ${opts.source}`] : []),
    opts.since !== undefined ? `replaying after seq ${opts.since}` : 'new events only (--since SEQ replays)',
  ];
  return `following the ${opts.allMachines ? "fleet's event stream (every machine)" : 'telepty bus'}: ${parts.join('; ')}. Ctrl-C stops.`;
}

/** A `bus.error` frame (a subscription the daemon could not serve) as the error it carries; null for anything else. */
export function busError(line: string): TeleptyError | null {
  const v = parseJsonFrame(line);
  if (typeof v !== 'object' || v === null || !('kind' in v) || v.kind !== 'bus.error' || !isErrorBody(v)) return null;
  return TeleptyError.fromBody(v);
}

/** Which daemon process answers: its pid and start time (a pid alone may be reused). */
/** One NDJSON line of the bus socket as an event, or null when it is not one (not JSON, or no kind and seq). */
export function eventOfLine(line: string): BusEvent | null {
  const ev = parseJsonFrame(line);
  return isBusEvent(ev) ? ev : null;
}

async function daemonInstance(c: DaemonClient): Promise<{ pid: number; startedAt: string }> {
  const { meta } = await c.handle();
  return { pid: meta.pid, startedAt: meta.started_at };
}

/**
 * An empty filter (`--target "$ID"` with ID unset) is no filter to the daemon: the tail would follow every event
 * as if it were the one asked for. Refused instead.
 */
function refuseEmptyFilters(opts: Pick<TailOptions, 'kind' | 'excludeKind' | 'target' | 'source'>): void {
  const given: [string, string | undefined][] = [
    ['--target', opts.target],
    ['--source', opts.source],
    ...opts.kind.map((k): [string, string] => ['--kind', k]),
    ...opts.excludeKind.map((k): [string, string] => ['--exclude-kind', k]),
  ];
  for (const [name, value] of given) {
    if (value !== undefined && value.trim() === '') throw new TeleptyError('INVALID_FIELD', `${name} is empty: it would filter nothing (give a value, or leave ${name} out)`);
  }
}

/** Events are NDJSON with --json: an error is printed on one line too. */
export const ndjson = true;

export function register(program: Command): void {
  program
    .command('tail')
    .description('follow the event bus: one line per event (NDJSON when piped), with server-side filters and replay')
    .option('--kind <kind>', 'only this kind (repeatable; a trailing * matches a prefix)', collect, [])
    .option('--exclude-kind <kind>', 'leave out this kind (repeatable; a trailing * matches a prefix), e.g. session_health', collect, [])
    .option('--target <id>', 'only events for this target')
    .option('--source <source>', 'only events from this source')
    .option('--since <seq>', 'first replay the events after this seq (still kept by the daemon)', intOption('--since', 0, Number.MAX_SAFE_INTEGER))
    .option('--count <n>', 'exit 0 after n events', intOption('--count', 1, Number.MAX_SAFE_INTEGER))
    .option('--timeout <seconds>', 'stop after this long (exit 5 if --count was not reached)', (v: string) => parseSeconds(v, '--timeout'))
    .option('--json', 'NDJSON: one event object per line (the default when stdout is not a terminal)')
    .option('--pretty', 'one readable line per event (the default on a terminal)')
    .option('--all-machines', "follow the fleet's event stream on the hub: every machine's events, seq a stream sequence that --since resumes from (across daemon restarts)")
    .addHelpText(
      'after',
      examples([
        'telepty tail --kind turn_request',
        "telepty tail --kind 'inject_*' --kind submitted --target dev-001",
        'telepty tail --since 120 --count 5 --json',
        'telepty tail --kind session_exit --count 1 --timeout 600   # wait for one exit',
        'telepty tail --exclude-kind session_health --exclude-kind session.idle',
        'telepty tail --all-machines --since 4200   # the fleet\'s events after stream seq 4200',
      ]) +
        '\nOn a terminal, failures (inject_failed, *.failed, events with an error) are shown whole and in red.' +
        '\nA gap the daemon can no longer replay is announced as a bus.gap event, never skipped silently.\n',
    )
    .action(async (opts: TailOptions) => {
      if (opts.json && opts.pretty) throw new TeleptyError('INVALID_FIELD', 'choose --json or --pretty');
      refuseEmptyFilters(opts);
      exitQuietlyWhenReaderCloses();
      const json = opts.json ?? (!opts.pretty && !process.stdout.isTTY);
      const chalk = !json && useColor() ? (await import('chalk')).default : null;
      const paint: Painter | null = chalk ? { head: chalk.cyan, failure: chalk.red } : null;
      const excluded = (ev: BusEvent): boolean => opts.excludeKind.some((k) => matchesText(k, ev.kind));
      if (!json && process.stderr.isTTY) process.stderr.write(`${banner(opts)}\n`);
      const width = process.stdout.columns || 160;
      let lastSeq = opts.since ?? null;
      let seen = 0;
      const client = await connect();
      // The daemon instance the seqs come from: a seq means nothing to another one (seqs restart with the daemon).
      let source = await daemonInstance(client);

      let finished = false;
      let finish!: (code: number) => void;
      const done = new Promise<number>((resolve) => {
        finish = (code) => {
          if (finished) return;
          finished = true;
          resolve(code);
        };
      });
      if (opts.timeout) setTimeout(() => finish(opts.count ? EXIT.TIMEOUT : EXIT.OK), opts.timeout).unref();

      const query = (): string => {
        const q = new URLSearchParams({ batch: '1' });
        for (const k of opts.kind) q.append('kind', k);
        if (opts.target) q.set('target', opts.target);
        if (opts.source) q.set('source', opts.source);
        if (lastSeq !== null) q.set('since', String(lastSeq));
        return `${opts.allMachines ? FLEET_BUS_PATH : BUS_PATH}?${q.toString()}`;
      };

      const run = async (c: DaemonClient): Promise<void> => {
        const instance = await daemonInstance(c);
        // The fleet's stream sequences outlive any daemon: resuming after lastSeq is right with a new one too.
        if (!opts.allMachines && (instance.pid !== source.pid || instance.startedAt !== source.startedAt)) {
          // A new daemon: replay all it has (a part it no longer keeps is announced as a gap). What the old one
          // published after lastSeq, before it went, cannot be had from anyone.
          process.stderr.write(`telepty: the daemon was replaced (pid ${source.pid} → ${instance.pid}); replaying the new one's events from its first\n`);
          source = instance;
          lastSeq = 0;
        }
        const { ws, onMessage } = await openDaemonSocket(c, query());
        // A reader that stops taking lines (a pager, `| sleep`): the socket is not read until stdout drains, so the
        // daemon sees a slow subscriber (dropped past its bound, resumed from the last printed seq) instead of this
        // process holding every event in memory (100,000 events: 140 MB before).
        /** stdout did not take the last line at once: this socket is paused until it drains. */
        let stdoutFull = false;
        const print = (text: string): void => {
          if (process.stdout.write(`${text}\n`) || stdoutFull) return;
          stdoutFull = true;
          ws.pause();
          process.stdout.once('drain', () => {
            stdoutFull = false;
            ws.resume();
          });
        };
        onMessage((data) => {
          for (const line of ndjsonLines(data.toString('utf8'))) {
            if (finished) return;
            const ev = eventOfLine(line);
            const refusal = ev ? null : busError(line);
            if (refusal) {
              // The daemon could not follow what was asked (the fleet's stream out of reach): said, with its code.
              process.stderr.write(`telepty: ${refusal.message} [${refusal.code}]\n`);
              finish(exitCodeFor(refusal));
              ws.close(1000, 'done');
              return;
            }
            if (!ev) {
              // Not an event (another program, a damaged frame): said, and skipped; the tail goes on.
              process.stderr.write(`telepty: skipped a bus frame that is not an event: ${line.slice(0, 200)}\n`);
              continue;
            }
            if (ev.kind === GAP_KIND) {
              // Its seq is the last one it stands for: resuming after it does not announce it again.
              if (typeof ev.seq === 'number') lastSeq = ev.seq;
              process.stderr.write(`telepty: gap in the bus: ${String(ev.detail)}\n`);
              if (json) print(line);
              continue;
            }
            if (typeof ev.seq === 'number') lastSeq = ev.seq;
            if (excluded(ev)) continue;
            print(json ? line : prettyEvent(ev, width, paint));
            seen++;
            if (opts.count && seen >= opts.count) {
              ws.close(1000, 'done');
              finish(EXIT.OK);
            }
          }
        });
        ws.on('close', (code, reason) => {
          if (finished) return;
          if (code === BUS_CLOSE_TOO_SLOW) process.stderr.write(`telepty: the daemon dropped this tail (${reason.toString()}); resuming\n`);
          setTimeout(() => void reconnect(0), RECONNECT_DELAYS_MS[0]);
        });
      };

      /** The daemon went away: find the next one (never start one from here) and resume after lastSeq. */
      let saidWaiting = false;
      const reconnect = async (attempt: number): Promise<void> => {
        if (finished) return;
        try {
          const c = await connect({ autostart: false });
          if (!c) throw new TeleptyError('DAEMON_UNREACHABLE', 'no daemon yet');
          await run(c);
          saidWaiting = false;
        } catch (err) {
          if (!isTeleptyError(err)) throw err;
          // A daemon that is not back after the first retries (stopped, not restarted): said once, not a silent hang.
          if (attempt === RECONNECT_DELAYS_MS.length && !saidWaiting) {
            saidWaiting = true;
            process.stderr.write(`telepty: the daemon is gone; the tail goes on when one runs again (\`telepty daemon start\`)${lastSeq !== null ? `, resuming after seq ${lastSeq}` : ''}\n`);
          }
          const delay = RECONNECT_DELAYS_MS[Math.min(attempt, RECONNECT_DELAYS_MS.length - 1)] as number;
          setTimeout(() => void reconnect(attempt + 1), delay);
        }
      };

      await run(client); // a refused subscription (bad filter, auth) fails here, with its code
      process.exitCode = await done;
    });
}

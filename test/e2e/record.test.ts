import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { injectMarker, parseCast, type CastEvent } from '../../src/protocol/asciicast.js';
import type { ScreenSnapshot, SessionObject } from '../../src/protocol/session.js';
import { parseJson, runCli } from '../helpers/cli.js';
import { useHomes } from '../helpers/daemon.js';
import { BIN, ROOT, testEnv, waitFor } from '../helpers/env.js';
import { listSessions, spawnJson } from '../helpers/sessions.js';
import { TerminalDriver } from '../helpers/terminal.js';

const homes = useHomes();
const PRINTER = path.join(ROOT, 'test', 'fixtures', 'recorded-printer.mjs');
const drivers: TerminalDriver[] = [];
afterEach(() => {
  for (const d of drivers.splice(0)) d.dispose();
});

async function read(home: string, id: string): Promise<ScreenSnapshot> {
  return parseJson<ScreenSnapshot>(await runCli(home, ['read', id, '--json']));
}

async function readUntil(home: string, id: string, text: string): Promise<ScreenSnapshot> {
  return waitFor(`${id} to show ${text}`, async () => {
    const s = await read(home, id);
    return s.lines.join('\n').includes(text) ? s : null;
  });
}

async function session(home: string, id: string): Promise<SessionObject | undefined> {
  return (await listSessions(home)).find((s) => s.id === id);
}

/** A session running the printer, recorded with `flags`; its copy of what it printed is `out`. */
async function printerSession(home: string, id: string, flags: string[]): Promise<{ out: string; session: SessionObject }> {
  const out = path.join(home, `${id}.printed`);
  const s = await spawnJson(home, ['--id', id, ...flags, '--env', `FIXTURE_OUT=${out}`, '--', process.execPath, PRINTER]);
  await readUntil(home, id, 'ready');
  return { out, session: s };
}

async function inject(home: string, id: string, text: string, extra: string[] = []): Promise<string> {
  // Not waited for: whether the printer (a plain echo) took it is not what is tested; its answer on screen is.
  const r = await runCli(home, ['inject', id, text, '--json', '--no-wait', ...extra]);
  expect(r.exitCode, r.stderr).toBe(0);
  const answer = parseJson<{ inject_id?: string; results?: { inject_id: string }[] }>(r);
  return answer.inject_id ?? (answer.results?.[0]?.inject_id as string);
}

function outputOf(events: CastEvent[]): string {
  return events
    .filter((e) => e.code === 'o')
    .map((e) => e.data)
    .join('');
}

/** The same text; when not, where they part (a diff of 300 KB says nothing). */
function expectSameText(got: string, want: string): void {
  let i = 0;
  while (i < got.length && got[i] === want[i]) i++;
  expect({ length: got.length, partAt: i, got: got.slice(i - 20, i + 60) }).toEqual({ length: want.length, partAt: want.length, got: want.slice(i - 20, i + 60) });
}

/** Header fields, event codes known, times never going back. */
function checkShape(text: string, format: 2 | 3, id: string): ReturnType<typeof parseCast> {
  const cast = parseCast(text);
  expect(JSON.parse(text.split('\n')[0] as string).version).toBe(format);
  expect(cast.header).toMatchObject({ format, cols: 80, rows: 24, title: id });
  expect(cast.header.command).toContain(PRINTER);
  expect(Math.abs(cast.header.timestamp - Date.now() / 1000)).toBeLessThan(300);
  for (let i = 1; i < cast.events.length; i++) expect(cast.events[i]!.time).toBeGreaterThanOrEqual(cast.events[i - 1]!.time);
  return cast;
}

describe('recording sessions (asciicast)', () => {
  it('spawn --record: an asciicast v2 with every output byte in order, inject markers with their ids, no keystrokes, 0600; play redraws the last screen', async () => {
    const home = homes.newHome();
    const { out, session: s } = await printerSession(home, 'rec2', ['--record']);
    const dir = path.join(home, 'recordings');
    expect(s.recording?.format).toBe(2);
    expect(path.dirname(s.recording?.file ?? '')).toBe(dir);
    expect(path.basename(s.recording?.file ?? '')).toMatch(/^rec2-\d{8}T\d{6}Z\.cast$/);
    const file = s.recording?.file as string;
    expect((await session(home, 'rec2'))?.recording).toEqual({ file, format: 2 });

    const first = await inject(home, 'rec2', 'first prompt', ['--from', 'ci-bot']);
    await readUntil(home, 'rec2', 'got: first prompt');
    const second = await inject(home, 'rec2', 'second prompt');
    const last = await readUntil(home, 'rec2', 'got: second prompt');

    const stop = parseJson<{ recording: null; files: string[] }>(await runCli(home, ['record', 'rec2', '--stop', '--json']));
    expect(stop).toMatchObject({ recording: null, files: [file] });
    expect((await session(home, 'rec2'))?.recording).toBeNull();
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);

    const cast = checkShape(await fs.readFile(file, 'utf8'), 2, 'rec2');
    // Every byte the program printed, in order, and nothing else.
    expectSameText(outputOf(cast.events), await fs.readFile(out, 'utf8'));
    const markers = cast.events.filter((e) => e.code === 'm').map((e) => injectMarker(e.data));
    expect(markers).toEqual([
      { inject_id: first, from: 'ci-bot', turn_id: null },
      { inject_id: second, from: null, turn_id: null },
    ]);
    // The first marker comes after the prompt was typed and before its answer.
    const texts = cast.events.map((e) => e.data);
    const firstAt = cast.events.findIndex((e) => e.code === 'm');
    expect(texts.slice(0, firstAt).join('')).toContain('first prompt');
    expect(texts.slice(firstAt).join('')).toContain('got: first prompt');
    expect(cast.events.some((e) => e.code === 'i')).toBe(false);

    // `play` in another session redraws what the recorded session's screen last showed.
    await spawnJson(home, ['--id', 'player', '--', 'bash', '-c', `"${process.execPath}" "${BIN}" play "${file}" --speed 100; sleep 60`]);
    await waitFor('the replay to end on the same screen', async () => {
      const shown = await read(home, 'player');
      return JSON.stringify(shown.lines) === JSON.stringify(last.lines) && shown.cursor.x === last.cursor.x && shown.cursor.y === last.cursor.y ? shown : null;
    });

    const listed = parseJson<{ file: string; bytes: number; modified_at: string }[]>(await runCli(home, ['record', '--list', '--json']));
    expect(listed).toEqual([{ file, bytes: (await fs.stat(file)).size, modified_at: expect.any(String) }]);
    const text = await runCli(home, ['record', '--list']);
    expect(text.stdout).toContain(file);
  });

  it('--cast-format 3: relative times, every byte, the markers, and the exit event', async () => {
    const home = homes.newHome();
    const file = path.join(home, 'mine', 'v3.cast');
    const { out } = await printerSession(home, 'rec3', ['--record', file, '--cast-format', '3']);
    expect((await session(home, 'rec3'))?.recording).toEqual({ file, format: 3 });
    const id = await inject(home, 'rec3', 'hello v3');
    await readUntil(home, 'rec3', 'got: hello v3');
    // A turn routed from the bus: its marker carries the turn id.
    const turn = await runCli(home, ['publish', '--kind', 'turn_request', '--target', 'rec3', '--source', 'planner', '--payload', '{"turn_id":"t-42","prompt":"bus turn"}']);
    expect(turn.exitCode, turn.stderr).toBe(0);
    await readUntil(home, 'rec3', 'got: bus turn');
    const r = await runCli(home, ['inject', 'rec3', 'exit', '--no-wait']);
    expect(r.exitCode, r.stderr).toBe(0);
    await waitFor('rec3 to exit', async () => (await session(home, 'rec3'))?.status === 'exited');
    // The host finishes the file before it reports the exit.
    const text = await fs.readFile(file, 'utf8');
    const cast = checkShape(text, 3, 'rec3');
    expect(text.split('\n')[0]).toContain('"term":{"cols":80,"rows":24}');
    expectSameText(outputOf(cast.events), await fs.readFile(out, 'utf8'));
    const markers = cast.events.filter((e) => e.code === 'm').map((e) => injectMarker(e.data));
    expect(markers).toEqual([
      { inject_id: id, from: null, turn_id: null },
      { inject_id: expect.any(String), from: expect.any(String), turn_id: 't-42' },
      { inject_id: expect.any(String), from: null, turn_id: null },
    ]);
    expect(cast.events.at(-1)).toMatchObject({ code: 'x', data: '0' });
    expect(cast.events.some((e) => e.code === 'i')).toBe(false);
  });

  it('record ID starts and stops a running session; --record-input keeps a viewer keystrokes; a file is never overwritten', async () => {
    const home = homes.newHome();
    await printerSession(home, 'live', []);
    expect((await session(home, 'live'))?.recording).toBeNull();
    const file = path.join(home, 'live.cast');
    const start = await runCli(home, ['record', 'live', '--file', file, '--record-input']);
    expect(start.exitCode, start.stderr).toBe(0);
    expect(start.stdout).toContain(`recording live to ${file}`);
    expect((await session(home, 'live'))?.recording).toEqual({ file, format: 2 });
    // A second start is refused while one runs.
    const again = await runCli(home, ['record', 'live']);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/already being recorded/);

    const viewer = new TerminalDriver(process.execPath, [BIN, 'attach', 'live'], { env: testEnv(home) });
    drivers.push(viewer);
    await viewer.waitForText('ready');
    viewer.write('typed by hand\r');
    await readUntil(home, 'live', 'got: typed by hand');
    const id = await inject(home, 'live', 'after');
    await readUntil(home, 'live', 'got: after');
    const stop = await runCli(home, ['record', 'live', '--stop']);
    expect(stop.stdout).toContain(`stopped recording live: ${file}`);

    const cast = parseCast(await fs.readFile(file, 'utf8'));
    const output = outputOf(cast.events);
    // From the start of the recording on: what came before (the printer's first screens) is not in it.
    expect(output).not.toContain('ready');
    expect(output).toContain('got: typed by hand');
    expect(output).toContain('got: after');
    expect(cast.events.filter((e) => e.code === 'i').map((e) => e.data).join('')).toBe('typed by hand\r');
    expect(cast.events.filter((e) => e.code === 'm').map((e) => injectMarker(e.data)?.inject_id)).toEqual([id]);

    // Starting again onto the same file: refused, the file untouched.
    const size = (await fs.stat(file)).size;
    const over = await runCli(home, ['record', 'live', '--file', file]);
    expect(over.exitCode).toBe(1);
    expect(over.stderr).toMatch(/exists already/);
    expect((await fs.stat(file)).size).toBe(size);
    const spawnOver = await runCli(home, ['spawn', '--id', 'over', '--record', file, '--', 'bash']);
    expect(spawnOver.exitCode).toBe(1);
    expect(spawnOver.stderr).toMatch(/exists already/);
    // Bad options are usage errors.
    expect((await runCli(home, ['spawn', '--cast-format', '4', '--record', '--', 'bash'])).exitCode).toBe(2);
    expect((await runCli(home, ['record', 'live', '--stop', '--file', file])).exitCode).toBe(2);
  });

  it('wrap --record: the person\'s keystrokes only with --record-input, resizes as `r` events, the exit', async () => {
    const home = homes.newHome();
    const out = path.join(home, 'wrapped.printed');
    const withInput = path.join(home, 'wrap-input.cast');
    const without = path.join(home, 'wrap-plain.cast');
    for (const [file, flags] of [
      [withInput, ['--record-input']],
      [without, []],
    ] as const) {
      const d = new TerminalDriver(process.execPath, [BIN, 'wrap', '--quiet', '--id', 'w', '--record', file, ...flags, '--', process.execPath, PRINTER], {
        env: { ...testEnv(home), FIXTURE_OUT: out },
        cols: 80,
        rows: 24,
      });
      drivers.push(d);
      await d.waitForText('ready');
      d.write('typed');
      await d.waitForText('> typed');
      d.resize(100, 30);
      await waitFor('the wrapped session to take the new size', async () => (await session(home, 'w'))?.cols === 100);
      d.write('\r');
      await d.waitForText('got: typed');
      d.write('exit\r');
      expect((await d.waitExit()).exitCode).toBe(0);
      const cast = parseCast(await fs.readFile(file, 'utf8'));
      expect(cast.header).toMatchObject({ format: 2, cols: 80, rows: 24, title: 'w' });
      expect(outputOf(cast.events)).toContain('got: typed');
      expect(cast.events.filter((e) => e.code === 'r').map((e) => e.data)).toEqual(['100x30']);
      expect(cast.events.at(-1)).toMatchObject({ code: 'm', data: 'exit 0' });
      const keys = cast.events.filter((e) => e.code === 'i').map((e) => e.data).join('');
      expect(keys).toBe(file === withInput ? 'typed\rexit\r' : '');
      await fs.rm(out, { force: true });
    }
  });

  it('--record-max-size (and TELEPTY_RECORD_MAX_SIZE) rotate at a small limit: numbered files, each with its header, every byte across them', async () => {
    const home = homes.newHome();
    const file = path.join(home, 'small.cast');
    const limit = 64 * 1024;
    const { out } = await printerSession(home, 'small', ['--record', file, '--record-max-size', '64K']);
    const stop = parseJson<{ files: string[] }>(await runCli(home, ['record', 'small', '--stop', '--json']));
    // The printer's first ~200 KB: three files at least, named name.2.cast, name.3.cast, …
    expect(stop.files.length).toBeGreaterThanOrEqual(3);
    expect(stop.files).toEqual(stop.files.map((_, i) => (i === 0 ? file : path.join(home, `small.${i + 1}.cast`))));
    let all = '';
    for (const f of stop.files) {
      const text = await fs.readFile(f, 'utf8');
      const cast = parseCast(text);
      expect(cast.header).toMatchObject({ format: 2, cols: 80, rows: 24, title: 'small' });
      // At the limit, unless one event alone is larger.
      if (cast.events.length > 1) expect(Buffer.byteLength(text)).toBeLessThanOrEqual(limit);
      expect((await fs.stat(f)).mode & 0o777).toBe(0o600);
      all += outputOf(cast.events);
    }
    expectSameText(all, await fs.readFile(out, 'utf8'));

    // The environment's limit, for a recording started later; the option wins over it.
    const envFile = path.join(home, 'env.cast');
    const env = { TELEPTY_RECORD_MAX_SIZE: '4k' };
    expect((await runCli(home, ['record', 'small', '--file', envFile], { env })).exitCode).toBe(0);
    for (let i = 0; i < 6; i++) {
      await inject(home, 'small', `prompt ${i} ${'p'.repeat(500)}`);
      await readUntil(home, 'small', `got: prompt ${i}`);
    }
    const envStop = parseJson<{ files: string[] }>(await runCli(home, ['record', 'small', '--stop', '--json']));
    expect(envStop.files.length).toBeGreaterThan(1);
    expect(envStop.files[1]).toBe(path.join(home, 'env.2.cast'));

    // Sizes are checked before anything starts: too small, not a size, or without --record.
    for (const [args, e] of [
      [['spawn', '--record', '--record-max-size', '100', '--', 'bash'], {}],
      [['spawn', '--record', '--record-max-size', 'lots', '--', 'bash'], {}],
      [['spawn', '--record-max-size', '50M', '--', 'bash'], {}],
      [['spawn', '--record', '--', 'bash'], { TELEPTY_RECORD_MAX_SIZE: 'abc' }],
      [['record', 'small', '--stop', '--record-max-size', '50M'], {}],
    ] as const) {
      const r = await runCli(home, [...args], { env: e });
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/record-max-size|TELEPTY_RECORD_MAX_SIZE/);
    }
  });

  it('TELEPTY_RECORD_DIR is where recordings go without a file, and what record --list reads', async () => {
    const home = homes.newHome();
    const dir = path.join(home, 'elsewhere');
    const env = { TELEPTY_RECORD_DIR: dir };
    // The daemon reads it when it starts: started here with it.
    const s = parseJson<SessionObject>(await runCli(home, ['spawn', '--json', '--id', 'envdir', '--record', '--', 'bash', '--norc'], { env }));
    expect(path.dirname(s.recording?.file ?? '')).toBe(dir);
    await runCli(home, ['record', 'envdir', '--stop'], { env });
    // Started again at once: a new file (a default name never meets an existing one), in the same folder.
    const again = parseJson<{ recording: { file: string } }>(await runCli(home, ['record', 'envdir', '--json'], { env }));
    expect(path.dirname(again.recording.file)).toBe(dir);
    expect(again.recording.file).not.toBe(s.recording?.file);
    await runCli(home, ['record', 'envdir', '--stop'], { env });
    const listed = parseJson<{ file: string }[]>(await runCli(home, ['record', '--list', '--json'], { env }));
    expect(listed.map((f) => f.file).sort()).toEqual([s.recording?.file, again.recording.file].sort());
    expect(parseJson<unknown[]>(await runCli(home, ['record', '--list', '--json']))).toEqual([]);
  });

  it('spawn --record to a file that cannot be created is refused before the session starts (not started unrecorded)', async () => {
    const home = homes.newHome();
    // /proc takes no new files, even from root (whom access(2) would let write there).
    const r = await runCli(home, ['spawn', '--id', 'unrec', '--record', '/proc/telepty-test.cast', '--', 'sleep', '60']);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/cannot record to \/proc\/telepty-test\.cast: .*\[INVALID_FIELD\]/);
    // A folder that cannot be made there either: answered at once (Node's own `mkdir -p` retried it forever).
    const deep = await runCli(home, ['spawn', '--id', 'unrec', '--record', '/proc/telepty-test/x.cast', '--', 'sleep', '60'], { timeout: 10_000 });
    expect(deep.exitCode, deep.stderr).toBe(2);
    expect(deep.stderr).toMatch(/cannot record to \/proc\/telepty-test\/x\.cast: ENOENT.*\[INVALID_FIELD\]/);
    expect(await listSessions(home)).toEqual([]);
    // The recordings folder's place taken by a file: a usage error naming it, not an internal one.
    await fs.writeFile(path.join(home, 'recordings'), 'not a folder');
    const dflt = await runCli(home, ['spawn', '--id', 'unrec2', '--record', '--', 'sleep', '60']);
    expect(dflt.exitCode, dflt.stderr).toBe(2);
    expect(dflt.stderr).toMatch(/cannot record to .*recordings\/unrec2-.*\.cast: .*recordings is not a folder \(a file of that name is in the way\) \[INVALID_FIELD\]/);
    await spawnJson(home, ['--id', 'running', '--', 'sleep', '60']);
    const later = await runCli(home, ['record', 'running']);
    expect(later.exitCode, later.stderr).toBe(2);
    expect(later.stderr).toMatch(/cannot record to .*recordings\/running-.*\.cast: .*recordings is not a folder/);
    expect((await listSessions(home)).map((x) => x.id)).toEqual(['running']);
  });
});

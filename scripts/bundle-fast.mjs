// Bundles the two paths where Node's module loading is paid often, each into one CommonJS file under dist/bundle/:
// - the hot CLI path (`telepty inject`: src/fast.ts and everything it imports) → inject.cjs, which the CommonJS
//   launcher require()s. Node 20's ESM loader costs ~0.6 ms per module on this kind of machine and has no compile
//   cache, so the ~25 modules of the unbundled path cost `inject` a tenth of its start time; going through the ESM
//   loader at all (launcher and bundle as ES modules) cost ~9 ms more than require.
//   What the path imports only on demand (auto-starting the daemon) stays in chunks of its own.
// - the session host (src/host/main.ts) → host.cjs, which the daemon starts for every `spawn`. One file loaded
//   with require instead of ~30 ES modules: an idle host holds ~3 MB less (the ESM loader's module records and
//   wrappers) and starts sooner (bench/rss.bench.mjs, bench/spawn.bench.mjs; README's performance notes).
// Run after tsc (it reads dist/). Packages and node: builtins stay external (loaded from node_modules).
// The bundles sit two folders deep like every dist module, so paths made from import.meta.url (the
// launcher, package.json; rolldown turns it into the file's URL) resolve the same.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'rolldown';

// Chunk names carry a content hash: clear the folder so no stale chunk survives a rebuild.
rmSync('dist/bundle', { recursive: true, force: true });
const common = { platform: 'node', external: [/^node:/, /^[a-z@]/], logLevel: 'warn' };
await build({
  ...common,
  // `telepty hook` (issue 19) is as hot: an AI CLI runs it at every turn's start and end.
  input: { inject: 'dist/fast.js', hook: 'dist/hook-fast.js' },
  output: { dir: 'dist/bundle', format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: '[name]-[hash].cjs' },
});
// `telepty spawn` (issue 24: its start is on the path from `spawn` to the program's first output), a build of its
// own so that it shares no chunk with inject's (each path loads one file of ours, plus what it imports on demand:
// attaching, --machine, starting the daemon).
await build({
  ...common,
  input: { spawn: 'dist/spawn-fast.js' },
  output: { dir: 'dist/bundle', format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: 'spawn-[name]-[hash].cjs' },
});
// A build of its own: the host shares no chunk with the CLI, so it loads exactly one file of ours. ws is bundled in
// (rolldown hoists an external package's require to the top of the file): so it and the builtins it requires
// (http, https, tls, crypto, zlib: ~30-70 ms here under load) load only when main.ts imports the rest of the host,
// after the child has started.
await build({
  ...common,
  external: (id) => /^node:/.test(id) || (/^[a-z@]/.test(id) && !/^(ws|@xterm\/[a-z0-9-]+)(\/|$)/.test(id)),
  plugins: [bundledXterm(), lazyWsBuiltins()],
  input: { host: 'dist/host/main.js' },
  // Without comments and whitespace (names kept, for the stack traces in host logs): V8 keeps a script's source for
  // as long as it runs, and every host holds this one: 270 → 174 KB, an idle host -0.2 to -0.6 MB (bench/host-memory.md).
  output: { dir: 'dist/bundle', format: 'cjs', entryFileNames: '[name].cjs', codeSplitting: false, minify: { compress: false, mangle: false } },
});
// After the minifier, which writes escapes back as the characters.
oneByteSource('dist/bundle/host.cjs');

/**
 * xterm.js (and its addons) bundled into the host too, where screen.js loads it (through a createRequire of its own,
 * which the unbundled daemon keeps: it loads xterm only if it makes a screen). Bundled, its source is made one-byte
 * with the rest (oneByteSource): xterm-headless.js alone is 180 KB, held twice over as a two-byte string.
 */
function bundledXterm() {
  return {
    name: 'telepty-bundled-xterm',
    transform(code, id) {
      if (!id.endsWith('/dist/terminal/screen.js')) return null;
      const own = 'const require = createRequire(import.meta.url);';
      if (!code.includes(own)) throw new Error(`bundle: ${id} no longer has "${own}": update bundledXterm()`);
      return code.replace(own, '');
    },
  };
}

/**
 * ws requires https, tls and zlib when it loads, for wss:// URLs and permessage-deflate:
 * a host uses none of them (its link is ws:// with perMessageDeflate off, its viewers' server has it off by default).
 * Loaded on first use instead (they never are): an idle host holds less (bench/host-memory.md).
 */
function lazyWsBuiltins() {
  const lazy = ['https', 'tls', 'zlib'];
  return {
    name: 'telepty-lazy-ws-builtins',
    transform(code, id) {
      if (!/\/node_modules\/ws\/lib\/[a-z-]+\.js$/.test(id)) return null;
      let out = code;
      for (const name of lazy) {
        out = out.replace(new RegExp(`= require\\('${name}'\\);`, 'g'), `= __teleptyLazy(() => require('${name}'));`);
      }
      if (out === code) return null;
      // One definition per module that uses it: a getter proxy that loads the builtin on the first property read.
      return `function __teleptyLazy(load) { let m; return new Proxy({}, { get: (_, key) => (m ??= load())[key] }); }\n${out}`;
    },
  };
}

/**
 * V8 holds a script's source for as long as it runs, as one-byte (Latin-1) text when every character fits and as
 * two-byte text otherwise. One box-drawing character in a string literal doubles the whole 400 KB file: every
 * character past U+00FF is written as its \u escape (the same string, regex or identifier to the parser; a
 * backslash before one would change meaning, so the build stops there).
 */
function oneByteSource(file) {
  const code = readFileSync(file, 'utf8');
  if (/\\[^\u0000-\u00ff]/.test(code)) throw new Error(`bundle: ${file} escapes a character past U+00FF: oneByteSource() cannot rewrite it`);
  writeFileSync(file, code.replace(/[^\u0000-\u00ff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

// The web dashboard's page (dist/web), served by the daemon under /ui/.
await import('./bundle-web.mjs');

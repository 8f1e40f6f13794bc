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
import { rmSync } from 'node:fs';
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
  external: (id) => /^node:/.test(id) || (/^[a-z@]/.test(id) && !/^ws(\/|$)/.test(id)),
  input: { host: 'dist/host/main.js' },
  // Without comments and whitespace (names kept, for the stack traces in host logs): V8 keeps a script's source for
  // as long as it runs, and every host holds this one: 270 → 174 KB, an idle host -0.2 to -0.6 MB (bench/host-memory.md).
  output: { dir: 'dist/bundle', format: 'cjs', entryFileNames: '[name].cjs', codeSplitting: false, minify: { compress: false, mangle: false } },
});

// The web dashboard's page (dist/web), served by the daemon under /ui/.
await import('./bundle-web.mjs');

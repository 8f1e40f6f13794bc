// Bundles the hot CLI path (`telepty inject`: src/fast.ts and everything it imports) into one CommonJS file,
// dist/bundle/inject.cjs, which the CommonJS launcher require()s. Node 20's ESM loader costs ~0.6 ms per module
// on this kind of machine and has no compile cache, so the ~25 modules of the unbundled path cost `inject` a
// tenth of its start time; going through the ESM loader at all (launcher and bundle as ES modules) cost ~9 ms
// more than require.
// What the path imports only on demand (auto-starting the daemon) stays in chunks of its own.
// Run after tsc (it reads dist/). Packages and node: builtins stay external (loaded from node_modules).
// The bundle sits two folders deep like every dist module, so paths made from import.meta.url (the
// launcher, package.json; rolldown turns it into the file's URL) resolve the same.
import { rmSync } from 'node:fs';
import { build } from 'rolldown';

// Chunk names carry a content hash: clear the folder so no stale chunk survives a rebuild.
rmSync('dist/bundle', { recursive: true, force: true });
await build({
  input: { inject: 'dist/fast.js' },
  platform: 'node',
  external: [/^node:/, /^[a-z@]/],
  logLevel: 'warn',
  output: { dir: 'dist/bundle', format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: '[name]-[hash].cjs' },
});

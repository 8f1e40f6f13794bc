// Builds the web dashboard (src of the page: web/) into dist/web/, which the daemon serves under /ui/
// (src/daemon/ui/pages.ts): index.html, and assets/app-<hash>.js (the page's script with xterm.js, one file) and
// assets/app-<hash>.css (xterm's stylesheet and the page's). The names carry a hash of the content, so the daemon can
// let a browser cache them for good while index.html is always fetched fresh.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'rolldown';

const OUT = 'dist/web';
const hash = (text) => createHash('sha256').update(text).digest('hex').slice(0, 12);

rmSync(OUT, { recursive: true, force: true });
mkdirSync(`${OUT}/assets`, { recursive: true });
const result = await build({
  input: 'web/src/main.ts',
  platform: 'browser',
  logLevel: 'warn',
  tsconfig: 'web/tsconfig.json',
  write: false,
  output: { format: 'iife', minify: true, codeSplitting: false },
});
const chunk = result.output.find((o) => o.type === 'chunk');
if (!chunk) throw new Error('bundle-web: rolldown produced no script');
const js = chunk.code;
const css = `${readFileSync('node_modules/@xterm/xterm/css/xterm.css', 'utf8')}\n${readFileSync('web/style.css', 'utf8')}`;
const jsName = `app-${hash(js)}.js`;
const cssName = `app-${hash(css)}.css`;
writeFileSync(`${OUT}/assets/${jsName}`, js);
writeFileSync(`${OUT}/assets/${cssName}`, css);
const html = readFileSync('web/index.html', 'utf8').replace('%APP_JS%', jsName).replace('%APP_CSS%', cssName);
writeFileSync(`${OUT}/index.html`, html);

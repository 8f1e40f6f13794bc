// bench/results.json → bench/results.md (a markdown table per section).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RESULTS_JSON, ROOT } from './lib.mjs';

if (!existsSync(RESULTS_JSON)) process.exit(0);
const all = JSON.parse(readFileSync(RESULTS_JSON, 'utf8'));
const lines = [
  '# telepty benchmark results',
  '',
  'The real AI CLIs (opt-in `npm run test:agents`): their rows in the agents-real section below (from the last full run), the details in [agents-real.md](agents-real.md).',
  '',
  `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}. Every ratio is measured in one run.`,
  '',
];
for (const [section, { measured_at, rows }] of Object.entries(all)) {
  lines.push(`## ${section} (${measured_at.slice(0, 16).replace('T', ' ')})`, '', '| measurement | result | ratio | target |', '|---|---|---|---|');
  for (const r of rows) lines.push(`| ${r.name} | ${r.value} | ${r.ratio ?? ''} | ${r.target ?? ''} |`);
  lines.push('');
}
writeFileSync(path.join(ROOT, 'bench', 'results.md'), `${lines.join('\n')}\n`);
console.log(`\nwrote bench/results.md`);

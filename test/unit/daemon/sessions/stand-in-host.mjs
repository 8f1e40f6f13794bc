// A stand-in for the session host, for the spawner's tests: it reads the spec on stdin as the host does, prints
// what a test needs to play the host's hello ({pid, spec}) on stdout (the host log), then waits to be ended.
// Empty stdin (a spare never handed a spawn) ends it quietly. With spec.args[0] === 'fail' it writes a line and exits 3 instead, as a host that cannot start its child does.
let text = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => (text += d));
process.stdin.on('end', () => {
  // A spare host whose daemon ended without handing it a spawn: nothing to run (as the host does).
  if (text === '') process.exit(0);
  const spec = JSON.parse(text);
  if (spec.args[0] === 'fail') {
    process.stdout.write('cannot start: no such program\n', () => process.exit(3));
    return;
  }
  process.stdout.write(`${JSON.stringify({ pid: process.pid, spec })}\n`);
  setInterval(() => {}, 1_000);
});
process.on('SIGTERM', () => process.exit(0));
process.on('disconnect', () => {});

// The floor of telepty's API echo path, for bench/api-echo.bench.mjs: the same hops with nothing but bare
// ws relays. `host PORT`: a WebSocket server that writes each message to a node-pty `cat` and sends its output
// back (a session host with no terminal model, queue or protocol). `relay PORT UPSTREAM`: forwards frames both
// ways (a daemon with no registry, auth or JSON). Prints "ready" once listening. Loopback only.
const { writeSync } = require('node:fs');
const WebSocket = require('ws');

/**
 * Keys go to the PTY the way telepty's host writes them (src/host/pty.ts): straight to the non-blocking master
 * fd, node-pty's queue only for what the kernel does not take at once. node-pty's own write is an async fs.write
 * through the thread pool, ~20 µs more per keystroke, which would make the floor slower than what it measures.
 */
function write(pty, bytes) {
  let written = 0;
  try {
    written = writeSync(pty._fd, bytes);
  } catch (err) {
    if (err.code !== 'EAGAIN') throw err;
  }
  if (written < bytes.length) pty.write(bytes.subarray(written));
}
const [mode, port, upstream] = process.argv.slice(2);
const wss = new WebSocket.Server({ host: '127.0.0.1', port: Number(port), perMessageDeflate: false });
wss.on('connection', (ws) => {
  if (mode === 'host') {
    const pty = require('node-pty').spawn('cat', [], { cols: 80, rows: 24, encoding: null });
    pty.onData((d) => ws.send(d, { binary: false }));
    ws.on('message', (d) => write(pty, d));
    ws.on('close', () => pty.kill());
    return;
  }
  const up = new WebSocket(upstream, { perMessageDeflate: false });
  const early = [];
  up.on('message', (d, binary) => ws.send(d, { binary }));
  up.on('open', () => early.splice(0).forEach((d) => up.send(d)));
  ws.on('message', (d, binary) => (up.readyState === WebSocket.OPEN ? up.send(d, { binary }) : early.push(d)));
  ws.on('close', () => up.close());
});
wss.on('listening', () => process.stdout.write('ready\n'));

/**
 * A complete server → client WebSocket text frame (RFC 6455 §5.2: FIN, opcode 1, unmasked) holding `text`: the
 * header and the payload in one buffer, so the frame leaves in one socket write. ws sends a frame as two buffers
 * (header, payload) through the socket's cork/uncork, a writev and the stream's buffering code per frame; on a
 * keystroke's echo, in a host whose JIT is still cold, that path is a good part of the key's time (bench/host-memory.md).
 */
export function textFrame(text: string): Buffer {
  const bytes = Buffer.byteLength(text);
  const head = bytes < 126 ? 2 : bytes < 0x10000 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + bytes);
  frame[0] = 0x81;
  if (head === 2) frame[1] = bytes;
  else if (head === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(bytes, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(bytes / 0x1_0000_0000), 2);
    frame.writeUInt32BE(bytes >>> 0, 6);
  }
  frame.write(text, head, 'utf8');
  return frame;
}

/** The payload of a frame made by textFrame (what follows its header). */
export function framePayload(frame: Buffer): Buffer {
  const len = (frame[1] as number) & 0x7f;
  return frame.subarray(len < 126 ? 2 : len === 126 ? 4 : 10);
}

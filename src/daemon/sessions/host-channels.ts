import type { ChildProcess } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ViewerHandoff } from '../../protocol/viewer-handoff.js';
import type { Logger } from '../../util/log.js';
import type { SessionEntry } from './registry.js';

/** Node's TCP handle under a net.Socket: not in the public typings. */
interface TcpHandle {
  reading?: boolean;
  readStop?(): number;
}

function tcpHandle(socket: Socket): TcpHandle | null {
  const handle = (socket as unknown as { _handle?: TcpHandle | null })._handle;
  return handle && typeof handle.readStop === 'function' ? handle : null;
}

/**
 * Stop this process reading a socket it is about to hand over: until its copy is closed, whatever it read would
 * be lost to the host (a client writes as soon as the host's 101 arrives). pause() does not stop a reading
 * handle; readStop() does (what net.Socket#pause does for sockets with their own read buffer).
 */
function stopReading(handle: TcpHandle): void {
  handle.reading = false;
  handle.readStop?.();
}

/**
 * The IPC channels to the hosts this daemon started. A viewer of such a session is handed to its host with its
 * socket (ViewerHandoff), so keystrokes and output cross one process instead of two. Hosts this daemon did not
 * start (wrapped sessions, hosts from before a restart) have no channel: their viewers are relayed.
 */
export class HostChannels {
  private readonly byHostPid = new Map<number, ChildProcess>();

  constructor(
    private readonly log: Logger,
    /** False: every viewer is relayed (TELEPTY_DIRECT_VIEWERS=0). */
    private readonly enabled: boolean,
  ) {}

  /** A host started with an IPC channel: its viewers may be handed over while the channel is up. */
  add(child: ChildProcess): void {
    const pid = child.pid;
    if (pid === undefined || !child.connected) return;
    this.byHostPid.set(pid, child);
    // The channel must not keep the daemon running, nor outlive the host.
    child.channel?.unref();
    const forget = () => {
      if (this.byHostPid.get(pid) === child) this.byHostPid.delete(pid);
    };
    child.once('disconnect', forget);
    child.once('exit', forget);
    child.on('error', (err) => this.log.debug(`host ${pid} channel: ${err.message}`));
  }

  /**
   * Give the viewer's upgrade request and socket to the session's host; true when sent (the socket is the
   * host's now). False when the session's host has no channel here: the daemon serves the viewer itself.
   */
  handOff(entry: SessionEntry, req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if (!this.enabled || !entry.link || entry.hostPid === null || !(socket instanceof Socket)) return false;
    const child = this.byHostPid.get(entry.hostPid);
    if (!child?.connected) return false;
    const msg: ViewerHandoff = { type: 'viewer_handoff', method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, head: head.toString('base64') };
    const handle = tcpHandle(socket);
    if (!handle) return false;
    stopReading(handle);
    // The raw TCP handle goes, not the net.Socket: sending a server's socket makes Node track it as the child's
    // (server.close() then waits on the child's answer about it, and a daemon whose viewer had closed never
    // stopped). Once the message is written the fd is in flight with it, so this process closes its copy, and
    // the server counts the connection as ended like any other. If sending fails, the client sees its
    // connection close and may retry (attach reconnects), which is all a refused upgrade would give it too.
    child.send(msg, handle as unknown as Parameters<ChildProcess['send']>[1], { keepOpen: true }, (err) => {
      if (err) this.log.warn(`handing a viewer of ${entry.id} to its host failed: ${err.message}`);
      socket.destroy();
    });
    return true;
  }
}

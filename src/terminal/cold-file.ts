import { close, closeSync, ftruncate, open, read, readSync, write } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { ensureDir } from '../util/files.js';
import path from 'node:path';

const openFd = (file: string, flags: string, mode: number): Promise<number> =>
  new Promise((resolve, reject) => open(file, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd))));
const writeFd = (fd: number, buf: Buffer, at: number, n: number, pos: number): Promise<number> =>
  new Promise((resolve, reject) => write(fd, buf, at, n, pos, (err, written) => (err ? reject(err) : resolve(written))));
const readFd = (fd: number, buf: Buffer, at: number, n: number, pos: number): Promise<number> =>
  new Promise((resolve, reject) => read(fd, buf, at, n, pos, (err, got) => (err ? reject(err) : resolve(got))));
const truncateFd = (fd: number, len: number): Promise<void> =>
  new Promise((resolve, reject) => ftruncate(fd, len, (err) => (err ? reject(err) : resolve())));
const closeFd = (fd: number): Promise<void> => new Promise((resolve, reject) => close(fd, (err) => (err ? reject(err) : resolve())));

/**
 * Where the compact scrollback's text lives once it is written (cold-scrollback.ts): a file, so that an idle host does
 * not hold the text of its oldest rows in its heap (~0.35 MB after a 40 MB flood at 120 columns, issue 24).
 */
export interface ColdSpill {
  /** Replaces the file's content with `data`; resolves once it is written. */
  write(data: Buffer): Promise<void>;
  /** The first `bytes` of the file, read now (a resize or a new compaction needs the rows at once). */
  readSync(bytes: number): Buffer;
  /** The first `bytes` of the file (a screen read, which is asynchronous anyway). */
  read(bytes: number): Promise<Buffer>;
  close(): void;
}

/** Files opened in this process, for unique names (the pid and the time make them unique across processes). */
let opened = 0;

/**
 * A ColdSpill in a file of its own in `dir` (on disk: a host puts it under its data folder, never on tmpfs, where the
 * file would still be RAM). The file is created 0600 and unlinked as soon as it is open, so it goes with the process
 * however the process ends (the session's end, a crash, SIGKILL): no stale file to clean up, no other process can
 * open it by name. Opened on the first write.
 */
export class ColdFile implements ColdSpill {
  private fdNum: number | null = null;
  private opening: Promise<number> | null = null;
  private closed = false;
  /** Reads and writes under way (close() waits for them). */
  private busy = 0;

  constructor(private readonly dir: string) {}

  private openOnce(): Promise<number> {
    this.opening ??= (async () => {
      await ensureDir(this.dir);
      const file = path.join(this.dir, `cold-${process.pid}-${Date.now().toString(36)}-${opened++}`);
      const fd = await openFd(file, 'wx+', 0o600);
      try {
        await unlink(file);
        if (this.closed) throw new Error('the scrollback file was closed');
      } catch (err) {
        await closeFd(fd);
        throw err;
      }
      this.fdNum = fd;
      return fd;
    })();
    return this.opening;
  }

  async write(data: Buffer): Promise<void> {
    const fd = await this.openOnce();
    if (this.closed) throw new Error('the scrollback file was closed');
    this.busy++;
    try {
      let at = 0;
      while (at < data.length) at += await writeFd(fd, data, at, data.length - at, at);
      await truncateFd(fd, data.length);
    } finally {
      // A close() asked for meanwhile waits for the write: the descriptor must not be reused under it.
      if (--this.busy === 0 && this.closed && this.fdNum !== null) this.closeNow();
    }
  }

  readSync(bytes: number): Buffer {
    const fd = this.fd();
    const buf = Buffer.allocUnsafe(bytes);
    let at = 0;
    while (at < bytes) {
      const n = readSync(fd, buf, at, bytes - at, at);
      if (n === 0) throw new Error(`the scrollback file holds ${at} bytes, ${bytes} were written`);
      at += n;
    }
    return buf;
  }

  async read(bytes: number): Promise<Buffer> {
    const fd = this.fd();
    this.busy++;
    try {
      const buf = Buffer.allocUnsafe(bytes);
      let at = 0;
      while (at < bytes) {
        const n = await readFd(fd, buf, at, bytes - at, at);
        if (n === 0) throw new Error(`the scrollback file holds ${at} bytes, ${bytes} were written`);
        at += n;
      }
      return buf;
    } finally {
      if (--this.busy === 0 && this.closed && this.fdNum !== null) this.closeNow();
    }
  }

  private fd(): number {
    if (this.fdNum === null || this.closed) throw new Error('the scrollback file is not open');
    return this.fdNum;
  }

  /** The file's descriptor (tests read the file through /proc/self/fd), or null before the first write. */
  get descriptor(): number | null {
    return this.closed ? null : this.fdNum;
  }

  /** Closes the file (the session ends): it goes with its descriptor. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.busy === 0) this.closeNow();
  }

  private closeNow(): void {
    const fd = this.fdNum;
    this.fdNum = null;
    if (fd !== null) closeSync(fd);
  }
}

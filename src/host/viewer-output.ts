import type { HostLink, OutputSink } from './parts.js';

/**
 * Output this small with nothing gathered goes to viewers at once, without arming the per-turn gathering (a
 * keystroke's echo, a TUI's redraw): the extra turn of the event loop held up the next keystroke (API echo p50
 * +10-20 µs, measured A/B in one run). Floods come in PTY reads of ~4 KiB and are still gathered.
 */
const SMALL_OUTPUT_BYTES = 1024;
/** Largest output frame to the daemon: gathered per turn of the event loop, sent at once when this full. */
const OUTPUT_FRAME_BYTES = 256 * 1024;
/** Stop sending output to the daemon past this much unsent data; viewers get a fresh replay when it drains. */
const LINK_OUTPUT_HIGH_WATER = 8 * 1024 * 1024;

/** The viewers this host serves itself (DirectViewers). */
export interface DirectOutput {
  /** True while some viewer takes live output. */
  readonly wantsOutput: boolean;
  /** Output for the viewers that take it (none: it is dropped, undecoded). */
  output(frame: Buffer): void;
}

/**
 * The output sink of the session's viewers: those served here (direct) and those the daemon relays while it is
 * subscribed. Output is gathered per turn of the event loop into one frame; nothing is gathered when no one
 * watches.
 */
export class ViewerOutput implements OutputSink {
  private subscribed = false;
  private outputGap = false;
  /** Output for viewers, sent once per turn of the event loop as one frame. */
  private outgoing: Buffer[] = [];
  private outgoingBytes = 0;
  private outputThisTurn = false;

  constructor(
    private readonly direct: DirectOutput,
    private readonly link: HostLink,
  ) {}

  write(data: Buffer): void {
    if (!this.outputThisTurn) {
      // The first output of a turn of the event loop goes at once (a keystroke's echo should not wait), as it is:
      // nothing is gathered outside a turn that saw a big piece. After a big piece, more output in the same turn is
      // gathered into one frame, sent on the next turn (a flood).
      if (data.length >= SMALL_OUTPUT_BYTES) {
        // A flood no one watches arms nothing.
        if (!this.anyoneWants()) return;
        this.outputThisTurn = true;
        setImmediate(() => {
          this.outputThisTurn = false;
          this.flush();
        });
      }
      this.send(data);
      return;
    }
    if (!this.anyoneWants()) return;
    this.outgoing.push(data);
    this.outgoingBytes += data.length;
    if (this.outgoingBytes >= OUTPUT_FRAME_BYTES) this.flush();
  }

  /** The daemon relays output to viewers of its own while it is subscribed (and not after its link went down). */
  subscribe(on: boolean): void {
    this.subscribed = on;
    this.outputGap = false;
    this.outgoing = [];
    this.outgoingBytes = 0;
  }

  /** The link went down: the next daemon subscribes again if its viewers want output. */
  linkDown(): void {
    this.subscribed = false;
  }

  private linkWantsOutput(): boolean {
    return this.subscribed && this.link.up;
  }

  /**
   * Send the output gathered for viewers as one frame: to the viewers served here, and as raw bytes to the daemon
   * for the viewers it relays (it encodes them, on its own core).
   */
  flush(): void {
    if (this.outgoing.length === 0) return;
    const frame = this.outgoing.length === 1 ? (this.outgoing[0] as Buffer) : Buffer.concat(this.outgoing, this.outgoingBytes);
    this.outgoing = [];
    this.outgoingBytes = 0;
    this.send(frame);
  }

  /** Some viewer, here or the daemon's, takes live output. */
  private anyoneWants(): boolean {
    return this.direct.wantsOutput || this.linkWantsOutput();
  }

  /** One frame of output to the viewers served here (those that take it: DirectOutput) and to the daemon's. */
  private send(frame: Buffer): void {
    this.direct.output(frame);
    if (!this.linkWantsOutput()) return;
    if (this.link.buffered > LINK_OUTPUT_HIGH_WATER) {
      this.outputGap = true;
      return;
    }
    if (this.outputGap) {
      this.outputGap = false;
      this.link.send({ type: 'gap' });
    }
    this.link.sendBinary(frame);
  }
}

import type { OutputSink, PtyExit } from '../../src/host/parts.js';
import type { EventSink } from '../../src/protocol/events.js';
import type { Logger } from '../../src/util/log.js';

/** A logger that keeps every line (and the error given with it); `errors` are the error-level messages. */
export class RecordingLogger implements Logger {
  readonly lines: { level: string; message: string; err?: unknown }[] = [];
  get errors(): string[] {
    return this.lines.filter((l) => l.level === 'error').map((l) => l.message);
  }
  debug(message: string): void {
    this.lines.push({ level: 'debug', message });
  }
  info(message: string): void {
    this.lines.push({ level: 'info', message });
  }
  warn(message: string): void {
    this.lines.push({ level: 'warn', message });
  }
  error(message: string, err?: unknown): void {
    this.lines.push({ level: 'error', message, err });
  }
}

/** An EventSink that records each event. */
export class RecordingSink implements EventSink {
  readonly events: { kind: string; fields: Record<string, unknown> }[] = [];
  emit(kind: string, fields: Record<string, unknown>): void {
    this.events.push({ kind, fields });
  }
  kinds(): string[] {
    return this.events.map((e) => e.kind);
  }
  last(): { kind: string; fields: Record<string, unknown> } | undefined {
    return this.events[this.events.length - 1];
  }
}

/** A sink that keeps every chunk it is given, and the exit it was ended with. */
export class RecordingOutput implements OutputSink {
  readonly chunks: Buffer[] = [];
  ended: PtyExit | null = null;
  write(data: Buffer): void {
    this.chunks.push(data);
  }
  end(exit: PtyExit): void {
    this.ended = exit;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

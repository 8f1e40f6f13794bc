/**
 * Bounds on what a tool returns: an agent's context is the scarce thing, so every answer is capped in characters
 * and lines, and says so when it was cut (never a silent truncation).
 */
export const OUTPUT_LIMITS = {
  /** Characters of one tool answer: about 5k tokens, a screenful many times over. */
  maxChars: 20_000,
  /** Lines of one tool answer: a tall terminal is ~100 rows; 400 is several screens of scrollback. */
  maxLines: 400,
} as const;

export interface Caps {
  maxChars: number;
  maxLines: number;
}

/** The caps of one call: the caller may ask for less than the server's, never more. */
export function capsOf(ask: { max_chars?: number | undefined; max_lines?: number | undefined }): Caps {
  return {
    maxChars: Math.min(ask.max_chars ?? OUTPUT_LIMITS.maxChars, OUTPUT_LIMITS.maxChars),
    maxLines: Math.min(ask.max_lines ?? OUTPUT_LIMITS.maxLines, OUTPUT_LIMITS.maxLines),
  };
}

export interface Capped {
  text: string;
  /** Null when nothing was cut; otherwise what was left out, in words. */
  note: string | null;
}

/**
 * Keep the LAST lines and characters (a terminal's news is at the bottom) when `keep` is 'tail', the first ones
 * for lists and JSON (`'head'`); `reserved` lines of the limit go to a head line the caller adds.
 */
export function capLines(lines: string[], caps: Caps, keep: 'head' | 'tail', reserved = 0): Capped {
  const room = Math.max(1, caps.maxLines - reserved);
  let kept = keep === 'tail' ? lines.slice(-room) : lines.slice(0, room);
  const cutLines = lines.length - kept.length;
  let text = kept.join('\n');
  let cutChars = 0;
  if (text.length > caps.maxChars) {
    cutChars = text.length - caps.maxChars;
    text = keep === 'tail' ? text.slice(-caps.maxChars) : text.slice(0, caps.maxChars);
    kept = text.split('\n');
  }
  if (cutLines === 0 && cutChars === 0) return { text, note: null };
  const where = keep === 'tail' ? 'earlier' : 'later';
  const parts = [...(cutLines > 0 ? [`${cutLines} ${where} lines`] : []), ...(cutChars > 0 ? [`${cutChars} ${where} characters`] : [])];
  return { text, note: `[cut: ${parts.join(' and ')} left out (limits ${caps.maxLines} lines, ${caps.maxChars} characters)]` };
}

export function capText(text: string, caps: Caps, keep: 'head' | 'tail'): Capped {
  return capLines(text.split('\n'), caps, keep);
}

import { promises as fs } from 'node:fs';
import { TeleptyError } from '../protocol/errors.js';
import { MAX_PROMPT_CHARS } from '../protocol/inject.js';

/**
 * The prompt from the words on the command line, or --file, or stdin (for long and multi-line prompts).
 * Trailing newlines of a file or stdin are dropped, as the shell's $(…) does; nothing else is changed.
 */
export async function readPrompt(words: string[], file: string | undefined): Promise<string> {
  return withinLimit(await readPromptText(words, file));
}

/** The prompt limit, checked here so a prompt too long is refused as one (not as a request body too large). */
function withinLimit(prompt: string): string {
  if (prompt.length > MAX_PROMPT_CHARS) {
    throw new TeleptyError('PAYLOAD_TOO_LARGE', `the prompt is ${prompt.length} characters; at most ${MAX_PROMPT_CHARS} are allowed (put it in a file and send the agent its path)`, { field: 'prompt' });
  }
  return prompt;
}

async function readPromptText(words: string[], file: string | undefined): Promise<string> {
  if (words.length > 0 && file) throw new TeleptyError('INVALID_FIELD', 'give the prompt as text or with --file, not both');
  // `-` alone is stdin, as with --file - and most tools.
  if (words.length === 1 && words[0] === '-') return promptFromStdin();
  if (words.length > 0) {
    const text = words.join(' ');
    if (text === '') throw new TeleptyError('INVALID_FIELD', 'no prompt: the text is empty (to press Enter alone, use `telepty enter ID`)');
    return text;
  }
  if (file) return (await readTextFile(file, '--file')).replace(/\n+$/, '');
  if (process.stdin.isTTY) throw new TeleptyError('INVALID_FIELD', 'no prompt: give TEXT, --file PATH, or pipe it on stdin');
  return promptFromStdin();
}

async function promptFromStdin(): Promise<string> {
  const text = (await readStdin()).replace(/\n+$/, '');
  if (!text) throw new TeleptyError('INVALID_FIELD', 'no prompt: stdin was empty');
  return text;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A file named by an option, as text (`-`: stdin, as most tools take it); one that cannot be read is bad input
 * (exit 2) naming the option.
 */
export async function readTextFile(file: string, option: string): Promise<string> {
  if (file === '-') return readStdin();
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code !== 'string') throw err;
    throw new TeleptyError('INVALID_FIELD', `cannot read ${option} ${JSON.stringify(file)}: ${code === 'ENOENT' ? 'no such file' : code}`);
  }
}

export function timeoutMs(seconds: number | undefined, fallbackMs: number): number {
  return seconds === undefined ? fallbackMs : Math.round(seconds * 1000);
}

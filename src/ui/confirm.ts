import readline from 'node:readline';

/** Ask a yes/no question on the terminal (stderr, so stdout stays clean); only "y" or "yes" is a yes. */
export async function confirm(question: string, input: NodeJS.ReadableStream = process.stdin, output: NodeJS.WritableStream = process.stderr): Promise<boolean> {
  const rl = readline.createInterface({ input, output, terminal: true });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.once('close', () => resolve(''));
      rl.question(question, resolve);
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/**
 * What a token must be to travel in a request header: printable ASCII without spaces (a newline or a control
 * character would break every request, or split the header), and long enough not to be guessed. The daemon makes
 * 64 hex characters; a person may set their own.
 */
export const MIN_TOKEN_LENGTH = 16;

/** Why `token` cannot be used, or null when it can. */
export function tokenProblem(token: string): string | null {
  if (/[^\x21-\x7e]/.test(token)) {
    return /[\r\n]/.test(token) ? 'it contains a line break' : 'it contains a space, a control character or a non-ASCII character';
  }
  if (token.length < MIN_TOKEN_LENGTH) return `it is shorter than ${MIN_TOKEN_LENGTH} characters`;
  return null;
}

import { describe, expect, it } from 'vitest';
import { TeleptyError } from '../../../src/protocol/errors.js';
import { RESERVED_SESSION_IDS, assertNewSessionId, assertSessionId, deriveSessionId } from '../../../src/protocol/ids.js';

function refusal(fn: () => unknown): TeleptyError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TeleptyError);
    return err as TeleptyError;
  }
  throw new Error('expected a refusal');
}

describe('reserved session ids', () => {
  it('reserves exactly the ids of the literal inject routes', () => {
    expect([...RESERVED_SESSION_IDS].sort()).toEqual(['broadcast', 'multicast']);
  });

  it('refuses them for a new session with INVALID_SESSION_ID and says why', () => {
    for (const id of ['multicast', 'broadcast']) {
      const e = refusal(() => assertNewSessionId(id, 'new id'));
      expect(e.code).toBe('INVALID_SESSION_ID');
      expect(e.message).toBe(`new id "${id}" is reserved: /api/sessions/${id}/inject is the ${id} route, so a session with this id could not be sent a prompt; choose another id`);
    }
  });

  it('takes ids that only look alike, and still validates everything else', () => {
    for (const id of ['Multicast', 'BROADCAST', 'multicast-1', 'broadcaster', 'my.multicast']) expect(assertNewSessionId(id)).toBe(id);
    expect(refusal(() => assertNewSessionId('../x')).code).toBe('INVALID_SESSION_ID');
  });

  it('still lets lookups name them (an old session, a clear not-found)', () => {
    expect(assertSessionId('multicast')).toBe('multicast');
  });

  it('names a launched program in the default id, not its launcher (env, npx, nice…)', () => {
    expect(deriveSessionId('/home/me/app', 'claude')).toBe('app-claude');
    expect(deriveSessionId('/home/me/app', 'env', ['ANTHROPIC_MODEL=x', 'claude', '--resume'])).toBe('app-claude');
    expect(deriveSessionId('/home/me/app', '/usr/bin/npx', ['-y', '@google/gemini-cli@latest'])).toBe('app-gemini-cli');
    expect(deriveSessionId('/home/me/app', 'npx', ['--package', 'cowsay', 'cowthink'])).toBe('app-cowthink');
    expect(deriveSessionId('/home/me/app', 'nice', ['-n', '5', 'env', '-u', 'X', 'codex'])).toBe('app-codex');
    // A launcher that runs nothing named is itself; a shell's -c line or an interpreter's script is not unwrapped.
    expect(deriveSessionId('/home/me/app', 'env', [])).toBe('app-env');
    expect(deriveSessionId('/home/me/app', 'sh', ['-c', 'claude'])).toBe('app-sh');
    expect(deriveSessionId('/home/me/app', 'node', ['server.js'])).toBe('app-node');
  });

  it('never derives a reserved default id', () => {
    expect(deriveSessionId('/tmp/...', '/usr/bin/multicast')).toBe('multicast-session');
    expect(deriveSessionId('/home/me/app', 'broadcast')).toBe('app-broadcast');
  });
});

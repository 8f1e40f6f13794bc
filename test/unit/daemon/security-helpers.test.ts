import { describe, expect, it } from 'vitest';
import { redactErrorText, redactForRemote } from '../../../src/daemon/http/respond.js';
import { jsonTooDeep, MAX_JSON_DEPTH, parseJsonInput } from '../../../src/protocol/json.js';
import { TeleptyError } from '../../../src/protocol/errors.js';
import { createLogger } from '../../../src/util/log.js';
import { rateLimitedWarn } from '../../../src/util/rate-limited-log.js';

describe('input and output hygiene', () => {
  it('measures JSON nesting, ignoring brackets inside strings', () => {
    expect(jsonTooDeep('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH))).toBe(false);
    expect(jsonTooDeep('['.repeat(MAX_JSON_DEPTH + 1))).toBe(true);
    expect(jsonTooDeep(JSON.stringify({ s: '[[[[['.repeat(100), q: 'a"\\"[' }))).toBe(false);
    expect(() => parseJsonInput('{"a":' + '['.repeat(200))).toThrow(TeleptyError);
    expect(() => parseJsonInput('{oops')).toThrow(/not valid JSON/);
    expect(parseJsonInput('{"a":[1,{"b":2}]}')).toEqual({ a: [1, { b: 2 }] });
  });

  it('tells remote callers no paths, no second lines and no detail fields', () => {
    const body = { error: 'the session host exited before registering; its log /home/u/.local/state/telepty/hosts/x.log:\nError at /srv/app/index.js:10', code: 'INVALID_COMMAND', log_file: '/home/u/x.log' };
    const r = redactForRemote(body);
    expect(r).toEqual({ error: 'the session host exited before registering; its log <path>:', code: 'INVALID_COMMAND' });
    expect(redactForRemote({ error: 'cwd "/no/such/dir" does not exist', code: 'INVALID_CWD' }).error).toBe('cwd "<path>" does not exist');
    expect(redactForRemote({ error: 'no session "a/b"', code: 'SESSION_NOT_FOUND' }).error).toBe('no session "a/b"');
  });

  it('redacts an error text the same way wherever it goes out: first line, paths replaced', () => {
    expect(redactErrorText('write failed: /home/u/.ssh/id_rsa\n    at write (/srv/app/x.js:1:2)')).toBe('write failed: <path>');
    expect(redactErrorText('no session "worker-2"')).toBe('no session "worker-2"');
  });

  it('cannot be flooded: past the limit in a window, refusals are counted and summarised', () => {
    const lines: string[] = [];
    let t = 0;
    const warn = rateLimitedWarn(createLogger({ write: (l) => lines.push(l), now: () => new Date(t) }), () => t);
    for (let i = 0; i < 1_000; i++) warn(`refused ${i}`);
    expect(lines).toHaveLength(30);
    t = 61_000;
    warn('refused later');
    expect(lines.at(-2)).toMatch(/and 970 more like it/);
    expect(lines.at(-1)).toMatch(/refused later/);
  });
});

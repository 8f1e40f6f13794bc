import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../../src/protocol/json.js';
import { parseViewerServerMessage } from '../../../src/protocol/viewer.js';

describe('parseViewerServerMessage', () => {
  it('accepts each daemon → viewer message, keeping only its fields', () => {
    expect(parseViewerServerMessage('{"type":"replay","data":"\\u001b[Hscreen"}')).toEqual({ type: 'replay', data: '\x1b[Hscreen' });
    expect(parseViewerServerMessage('{"type":"output","data":"","extra":1}')).toEqual({ type: 'output', data: '' });
    expect(parseViewerServerMessage('{"type":"exit","code":3}')).toEqual({ type: 'exit', code: 3 });
    expect(parseViewerServerMessage('{"type":"exit","code":null}')).toEqual({ type: 'exit', code: null });
    expect(parseViewerServerMessage('{"type":"error","code":"SESSION_DISCONNECTED","error":"gone"}')).toEqual({ type: 'error', code: 'SESSION_DISCONNECTED', error: 'gone' });
  });

  it.each([
    ['not JSON', 'output: hello'],
    ['JSON null', 'null'],
    ['a string', '"output"'],
    ['an array', '[{"type":"output","data":"x"}]'],
    ['no type', '{"data":"x"}'],
    ['an unknown type', '{"type":"input","data":"x"}'],
    ['output without data', '{"type":"output"}'],
    ['output with non-string data', '{"type":"output","data":42}'],
    ['replay with object data', '{"type":"replay","data":{"a":1}}'],
    ['exit without a code', '{"type":"exit"}'],
    ['exit with a string code', '{"type":"exit","code":"3"}'],
    ['exit with a fractional code', '{"type":"exit","code":1.5}'],
    ['error without a message', '{"type":"error","code":"X"}'],
    ['error with a numeric code', '{"type":"error","code":5,"error":"x"}'],
    ['nesting past the depth bound', `${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`],
  ])('refuses %s', (_what, text) => {
    expect(parseViewerServerMessage(text)).toBeNull();
  });
});

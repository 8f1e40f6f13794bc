import { describe, expect, it } from 'vitest';
import { readAnswer } from '../../../src/commands/publish.js';

describe('publish stream answers', () => {
  it('takes an ack, and makes an error or any other frame that event\'s failure (never a crash)', () => {
    const ack = { kind: 'bus.ack', success: true, seq: 3, message_id: 'm', delivered: 1 };
    expect(readAnswer(JSON.stringify(ack))).toEqual({ ack });
    expect(readAnswer(JSON.stringify({ error: 'bad kind', code: 'INVALID_EVENT' }))).toEqual({ failure: 'bad kind [INVALID_EVENT]', json: '{"error":"bad kind","code":"INVALID_EVENT"}' });
    expect(readAnswer('{"kind":"bus.ack","seq":"x"}')).toEqual({ failure: '{"kind":"bus.ack","seq":"x"}', json: '{"kind":"bus.ack","seq":"x"}' });
    const broken = readAnswer('{"kind":');
    expect('failure' in broken && broken.failure).toMatch(/not JSON: \{"kind":/);
    expect('json' in broken && JSON.parse(broken.json)).toMatchObject({ code: 'PROTOCOL_MISMATCH' });
  });
});

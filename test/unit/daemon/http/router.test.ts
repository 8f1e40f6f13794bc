import { describe, expect, it } from 'vitest';
import { Router, type Route } from '../../../../src/daemon/http/router.js';

const h = (name: string): Route['handler'] => () => ({ body: name });

describe('route table', () => {
  const router = new Router().add(
    { method: 'GET', path: '/api/sessions/:id', handler: h('get-one') },
    { method: 'POST', path: '/api/sessions/spawn', handler: h('spawn') },
    { method: 'GET', path: '/api/sessions', handler: h('list') },
    { method: 'DELETE', path: '/api/sessions/:id', handler: h('delete') },
  );

  it('prefers literal segments over params', () => {
    const m = router.match('POST', '/api/sessions/spawn');
    expect(m.kind === 'found' && m.route.path).toBe('/api/sessions/spawn');
  });

  it('captures URL-decoded params', () => {
    const m = router.match('GET', '/api/sessions/a%2Eb');
    expect(m.kind === 'found' && m.params).toEqual({ id: 'a.b' });
  });

  it('says which methods a known path allows', () => {
    expect(router.match('PATCH', '/api/sessions/x')).toEqual({ kind: 'method-not-allowed', allowed: expect.arrayContaining(['GET', 'DELETE']) });
  });

  it('reports unknown paths and bad percent-encoding', () => {
    expect(router.match('GET', '/api/nope').kind).toBe('not-found');
    expect(router.match('GET', '/api/sessions/%E0%A4%A').kind).toBe('bad-path');
  });
});

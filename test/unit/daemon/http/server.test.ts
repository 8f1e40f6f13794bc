import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { exchangeJson } from '../../../../src/wire/http.js';
import { createAuthPolicy } from '../../../../src/daemon/auth.js';
import { Router } from '../../../../src/daemon/http/router.js';
import { createHttpServer } from '../../../../src/daemon/http/server.js';
import { createLogger } from '../../../../src/util/log.js';

const log = createLogger({ write: () => {}, level: 'error' });
const servers: http.Server[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** A real server on a free loopback port whose serving waits for `ready`. */
async function serverWith(ready: Promise<boolean> | undefined): Promise<number> {
  const router = new Router().add({ method: 'GET', path: '/api/meta', handler: () => ({ body: { name: 'telepty' } }) });
  const auth = createAuthPolicy({ listenHost: '127.0.0.1', allowlist: '', token: 't'.repeat(64), allowedOrigins: '', hostNames: [] });
  const server = createHttpServer({ router, auth, log, ready });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function gate(): { ready: Promise<boolean>; settle: (serving: boolean) => void } {
  let settle!: (serving: boolean) => void;
  const ready = new Promise<boolean>((resolve) => (settle = resolve));
  return { ready, settle };
}

describe('http server readiness (the daemon listens before it claims the state file)', () => {
  it('holds a request that arrives before it may serve, and answers it once it may', async () => {
    const { ready, settle } = gate();
    const port = await serverWith(ready);
    let answered = false;
    const answer = exchangeJson({ host: '127.0.0.1', port }, { path: '/api/meta', timeoutMs: 5_000 }).then((a) => {
      answered = true;
      return a;
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(answered).toBe(false);
    settle(true);
    expect(await answer).toMatchObject({ status: 200, body: { name: 'telepty' } });
  });

  it('closes a held request, and refuses later ones, when it must not serve', async () => {
    const { ready, settle } = gate();
    const port = await serverWith(ready);
    const held = exchangeJson({ host: '127.0.0.1', port }, { path: '/api/meta', timeoutMs: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    settle(false);
    await expect(held).rejects.toMatchObject({ name: 'TeleptyError' });
    await expect(exchangeJson({ host: '127.0.0.1', port }, { path: '/api/meta', timeoutMs: 5_000 })).rejects.toMatchObject({ name: 'TeleptyError' });
  });

  it('serves at once without a readiness promise', async () => {
    const port = await serverWith(undefined);
    expect(await exchangeJson({ host: '127.0.0.1', port }, { path: '/api/meta', timeoutMs: 5_000 })).toMatchObject({ status: 200 });
  });
});

import { IDEMPOTENCY_HEADER, parseInjectRequest, parseMulticastRequest, parseSubmitRequest, type MulticastResult } from '../../protocol/inject.js';
import { redactErrorText } from '../http/respond.js';
import type { Route } from '../http/router.js';
import type { Injector } from './injector.js';

/** A caller on another machine gets each failure's text redacted (no paths, no stack traces). */
function forCaller(result: MulticastResult, remote: boolean): MulticastResult {
  if (!remote) return result;
  const failed = result.results.failed.map((f) => ({ ...f, error: redactErrorText(f.error) }));
  return { ...result, results: { ...result.results, failed } };
}

/** `{prompt: ""}` without no_enter (with it, there would be nothing to do: refused as an empty prompt). */
function isEnterOnly(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const o = body as Record<string, unknown>;
  return o.prompt === '' && o.no_enter !== true;
}

/** HTTP adapters for inject, submit, multicast and broadcast (PROTOCOL.md). */
export function injectRoutes(injector: Injector): Route[] {
  return [
    {
      method: 'POST',
      path: '/api/sessions/:id/inject',
      handler: async (ctx) => {
        // The seed's later clients send an empty prompt to press Enter: the same job as /submit.
        if (isEnterOnly(ctx.body)) return { body: await injector.submit(ctx.params.id, parseSubmitRequest(ctx.body, ctx.headers[IDEMPOTENCY_HEADER])) };
        const { prompt, ...opts } = parseInjectRequest(ctx.body, ctx.headers[IDEMPOTENCY_HEADER]);
        return { body: await injector.inject(ctx.params.id, prompt, opts) };
      },
    },
    { method: 'POST', path: '/api/sessions/:id/submit', handler: async (ctx) => ({ body: await injector.submit(ctx.params.id, parseSubmitRequest(ctx.body, ctx.headers[IDEMPOTENCY_HEADER])) }) },
    {
      method: 'POST',
      path: '/api/sessions/multicast/inject',
      handler: async (ctx) => {
        const { session_ids, prompt, ...opts } = parseMulticastRequest(ctx.body, ctx.headers[IDEMPOTENCY_HEADER]);
        return { body: forCaller(await injector.multicast(session_ids, prompt, opts), ctx.remote) };
      },
    },
    {
      method: 'POST',
      path: '/api/sessions/broadcast/inject',
      handler: async (ctx) => {
        const { prompt, ...opts } = parseInjectRequest(ctx.body, ctx.headers[IDEMPOTENCY_HEADER]);
        return { body: forCaller(await injector.broadcast(prompt, opts), ctx.remote) };
      },
    },
  ];
}

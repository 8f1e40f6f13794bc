import type { MulticastResult } from '../../protocol/inject.js';
import { broadcastOp, injectOp, multicastOp, submitOp } from '../../protocol/operations.js';
import { redactErrorText } from '../http/respond.js';
import { routeFor, type Route } from '../http/router.js';
import type { Injector } from './injector.js';

/** A caller on another machine gets each failure's text redacted (no paths, no stack traces). */
function forCaller(result: MulticastResult, remote: boolean): MulticastResult {
  if (!remote) return result;
  const failed = result.results.failed.map((f) => ({ ...f, error: redactErrorText(f.error) }));
  return { ...result, results: { ...result.results, failed } };
}

/** HTTP adapters for inject, submit, multicast and broadcast (protocol/ops/inject.ts). */
export function injectRoutes(injector: Injector): Route[] {
  return [
    routeFor(injectOp, async (req, ctx) => {
      // The seed's later clients send an empty prompt to press Enter: the same job as /submit.
      if (req.kind === 'enter') return { body: await injector.submit(ctx.params.id, req.options) };
      const { prompt, ...opts } = req.request;
      return { body: await injector.inject(ctx.params.id, prompt, opts) };
    }),
    routeFor(submitOp, async (opts, ctx) => ({ body: await injector.submit(ctx.params.id, opts) })),
    routeFor(multicastOp, async ({ session_ids, prompt, ...opts }, ctx) => ({ body: forCaller(await injector.multicast(session_ids, prompt, opts), ctx.remote) })),
    routeFor(broadcastOp, async ({ prompt, ...opts }, ctx) => ({ body: forCaller(await injector.broadcast(prompt, opts), ctx.remote) })),
  ];
}

import type { FleetLink } from '../../fleet/link.js';
import { TeleptyError, isTeleptyError } from '../../protocol/errors.js';
import { multicastInjectId, parseMulticastRequest, type MulticastResult } from '../../protocol/inject.js';
import { IDEMPOTENCY_HEADER } from '../../protocol/inject.js';
import { injectOp, multicastOp, spawnSessionOp } from '../../protocol/operations.js';
import { redactErrorText } from '../http/respond.js';
import type { RequestContext, Route, RouteResult } from '../http/router.js';
import { locate, unknownHost } from '../sessions/targets.js';
import { MACHINE_ID_PATTERN } from '../../protocol/ids.js';

/**
 * Requests that name several machines at once, or a machine in their body rather than their path (issue 18):
 * a multicast whose `session_ids` mix machines (`a@x,b@y,c`), and a spawn with `machine`. The local part runs
 * through the daemon's own route; each remote part goes to its machine as the single operation it is there.
 */

export interface MixedDeps {
  machineId: string;
  link: () => FleetLink | null;
  /** Why the fleet is configured but not usable; null when it is usable or not configured. */
  problem: () => string | null;
  /** Carry one request to another machine (forward.ts): the same answer or error as there. */
  forward(machine: string, opName: string, params: Record<string, string>, ctx: RequestContext, body: unknown): Promise<RouteResult>;
}

function fields(body: unknown): Record<string, unknown> | null {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? { ...body } : null;
}

type Part = { given: string; local: true; id: string } | { given: string; local: false; id: string; machine: string };

/**
 * The multicast route, with targets on other machines: each remote target gets its own inject (its job id the
 * caller's with the target appended, so a retry of the whole multicast types nothing twice), the local ones one
 * local multicast; the answers are merged into one MulticastResult in the order given, each under the id given.
 */
export function mixedMulticast(route: Route, deps: MixedDeps): Route['handler'] {
  return async (ctx) => {
    const body = fields(ctx.body);
    const ids = body?.session_ids;
    if (body === null || !Array.isArray(ids) || !ids.some((x) => typeof x === 'string' && x.includes('@'))) return route.handler(ctx);
    const parts: Part[] = [];
    const seen = new Set<string>();
    for (const given of ids) {
      const where = locate(given, deps.machineId);
      const key = where.local ? where.id : `${where.id}@${where.machineId}`;
      if (seen.has(key)) continue;
      seen.add(key);
      parts.push(where.local ? { given: String(given), local: true, id: where.id } : { given: String(given), local: false, id: where.id, machine: where.machineId });
    }
    // The whole request is checked before anything is typed anywhere (the same parser as a local multicast).
    const req = parseMulticastRequest({ ...body, session_ids: parts.map((p) => p.id) }, ctx.headers[IDEMPOTENCY_HEADER]);
    const base = req.inject_id ?? null;
    const locals = parts.filter((p) => p.local);
    const localRun: Promise<MulticastResult | null> =
      locals.length === 0
        ? Promise.resolve(null)
        : Promise.resolve(route.handler({ ...ctx, body: { ...body, session_ids: locals.map((p) => p.id) } })).then((r) => (multicastOp.isAnswer(r.body) ? r.body : null));
    const remoteBody: Record<string, unknown> = { ...body };
    delete remoteBody.session_ids;
    const remotes = parts.filter((p): p is Extract<Part, { local: false }> => !p.local);
    const remoteRuns = remotes.map(async (p) => {
      const link = deps.link();
      if (link === null) throw unknownHost(`session ${p.given}`, p.machine, deps.problem());
      // The job's id on its machine: `<caller's id>.<id>:<machine>` (`@` is not allowed in inject ids).
      const injectId = multicastInjectId(base, `${p.id}:${p.machine}`);
      const r = await deps.forward(p.machine, injectOp.name, { id: p.id }, ctx, { ...remoteBody, ...(injectId ? { inject_id: injectId } : {}) });
      if (!injectOp.isAnswer(r.body)) throw new TeleptyError('PROTOCOL_MISMATCH', `${p.machine} answered inject with something that is not its answer`);
      return r.body;
    });
    const [local, ...settled] = await Promise.allSettled([localRun, ...remoteRuns]);
    if (local?.status === 'rejected') throw local.reason;
    const localResult = local?.status === 'fulfilled' ? local.value : null;
    const result: MulticastResult = { success: true, results: { successful: [], failed: [] } };
    const remoteAnswers = new Map(remotes.map((p, i) => [p, settled[i]] as const));
    for (const p of parts) {
      if (p.local) {
        const ok = localResult?.results.successful.find((s) => s.id === p.id);
        if (ok) result.results.successful.push({ ...ok, id: p.given });
        const failed = localResult?.results.failed.find((f) => f.id === p.id);
        if (failed) result.results.failed.push({ ...failed, id: p.given });
        continue;
      }
      const s = remoteAnswers.get(p);
      if (s?.status === 'fulfilled') {
        result.results.successful.push({ id: p.given, inject_id: s.value.inject_id, status: s.value.status });
      } else if (s?.status === 'rejected') {
        const e = isTeleptyError(s.reason) ? s.reason : new TeleptyError('INTERNAL', 'inject failed');
        const job = e.details?.job;
        const injectId = e.details?.inject_id;
        result.results.failed.push({
          id: p.given,
          code: e.code,
          error: ctx.remote ? redactErrorText(e.message) : e.message,
          ...(typeof injectId === 'string' ? { inject_id: injectId } : {}),
          ...(job === 'pending' || job === 'withdrawn' ? { job } : {}),
        });
      }
    }
    result.success = result.results.successful.length > 0 || result.results.failed.length === 0;
    return { body: result };
  };
}

/**
 * The spawn route with `machine`: another machine's spawn runs there as that machine's spawn operation, with only
 * what the body gives (no cwd: the remote daemon's home; env: the remote daemon's own plus the body's). Subject to
 * that machine's policy (remote spawn is off by default: FORBIDDEN). `machine` naming this one is a local spawn.
 */
export function machineSpawn(route: Route, deps: MixedDeps): Route['handler'] {
  return async (ctx) => {
    const body = fields(ctx.body);
    const machine = body?.machine;
    if (body === null || machine === undefined || machine === null) return route.handler(ctx);
    const rest: Record<string, unknown> = { ...body };
    delete rest.machine;
    if (typeof machine !== 'string' || !MACHINE_ID_PATTERN.test(machine)) throw new TeleptyError('INVALID_FIELD', '"machine" must be a machine id (letters, digits, . _ : - ; up to 253)', { field: 'machine' });
    const where = locate(`x@${machine}`, deps.machineId);
    if (where.local) return route.handler({ ...ctx, body: rest });
    // Checked here first: a bad spawn is refused before it travels.
    spawnSessionOp.parse({ query: ctx.query, body: rest, headers: ctx.headers });
    if (deps.link() === null) throw unknownHost(`machine ${machine}`, machine, deps.problem());
    return deps.forward(machine, spawnSessionOp.name, {}, ctx, rest);
  };
}

import type { IncomingHttpHeaders } from 'node:http';
import { TeleptyError } from '../../protocol/errors.js';
import { paramNames, type HttpMethod, type Operation, type PathParams } from '../../protocol/operations.js';

export type { HttpMethod };

export interface RequestContext {
  method: HttpMethod;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The peer's address as the socket reports it. */
  peer: string;
  /** The caller is on another machine: error texts in the answer must go through redactErrorText. */
  remote: boolean;
  /** The request body parsed as JSON (size-limited, read before the handler runs); undefined when empty. */
  body: unknown;
  /** Aborted when the client goes away before the answer. */
  signal: AbortSignal;
}

export interface RouteResult {
  status?: number;
  body: unknown;
}

export type RouteHandler = (ctx: RequestContext) => Promise<RouteResult> | RouteResult;

export interface Route {
  method: HttpMethod;
  /** `/api/sessions/:id`: segments starting with `:` capture one URL-decoded segment. */
  path: string;
  handler: RouteHandler;
  /** Health checks answer without auth; everything else is checked. */
  public?: boolean;
  /** Only loopback peers (the local user) may call it, even with a token (token rotation). */
  localOnly?: boolean;
  /** The name of the operation it serves (src/protocol/operations.ts), when built by routeFor. */
  operation?: string;
}

/** A handler's view of a request to an operation: its `:params` by name, known to be there. */
export type OperationContext<P extends string> = RequestContext & { params: Record<PathParams<P>, string> };

/** What an operation's handler answers: its answer, and a status when not the operation's own. */
export interface OperationResult<A> {
  status?: number;
  body: A;
}

function hasPathParams<P extends string>(params: Record<string, string>, path: P): params is Record<string, string> & Record<PathParams<P>, string> {
  return paramNames(path).every((name) => typeof params[name] === 'string');
}

/**
 * The route of an operation (src/protocol/operations.ts): its method and path, its request parsed by the
 * operation's parser (a bad one is refused with the parser's `{error, code}`), then the handler with the request
 * and the context; the answer's type is the operation's.
 */
export function routeFor<P extends string, B, Q, R, A>(
  op: Operation<P, B, Q, R, A>,
  handler: (req: R, ctx: OperationContext<P>) => Promise<OperationResult<A>> | OperationResult<A>,
): Route {
  return {
    method: op.method,
    path: op.path,
    ...(op.public ? { public: true } : {}),
    ...(op.localOnly ? { localOnly: true } : {}),
    handler: async (ctx) => {
      const { params } = ctx;
      if (!hasPathParams(params, op.path)) throw new TeleptyError('INTERNAL', `the route ${op.path} matched without its parameters`);
      const req = op.parse({ body: ctx.body, query: ctx.query, headers: ctx.headers });
      const result = await handler(req, { ...ctx, params });
      return { status: result.status ?? op.status ?? 200, body: result.body };
    },
    operation: op.name,
  };
}

interface PathEntry {
  method: string;
  path: string;
}

interface Compiled<T> {
  route: T;
  segments: string[];
}

export type RouteMatch<T = Route> =
  | { kind: 'found'; route: T; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allowed: HttpMethod[] }
  | { kind: 'not-found' }
  | { kind: 'bad-path' };

function split(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

/** A small route table: exact segments and `:params`, literal segments win over params. */
export class RouteTable<T extends PathEntry> {
  private readonly routes: Compiled<T>[] = [];

  add(...routes: T[]): this {
    for (const route of routes) this.routes.push({ route, segments: split(route.path) });
    // Literal segments before params so `/sessions/spawn` wins over `/sessions/:id`.
    this.routes.sort((a, b) => specificity(b) - specificity(a));
    return this;
  }

  match(method: string, path: string): RouteMatch<T> {
    let parts: string[];
    try {
      parts = split(path).map((p) => decodeURIComponent(p));
    } catch (err) {
      if (err instanceof URIError) return { kind: 'bad-path' };
      throw err;
    }
    const allowed: HttpMethod[] = [];
    for (const { route, segments } of this.routes) {
      const params = matchSegments(segments, parts);
      if (!params) continue;
      if (route.method === method) return { kind: 'found', route, params };
      allowed.push(route.method as HttpMethod);
    }
    return allowed.length > 0 ? { kind: 'method-not-allowed', allowed } : { kind: 'not-found' };
  }
}

export class Router extends RouteTable<Route> {}

function specificity(route: { segments: string[] }): number {
  return route.segments.reduce((n, s, i) => n + (s.startsWith(':') ? 0 : 2 ** (16 - i)), 0);
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | null {
  if (pattern.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as string;
    const v = parts[i] as string;
    if (p.startsWith(':')) params[p.slice(1)] = v;
    else if (p !== v) return null;
  }
  return params;
}

import type { IncomingHttpHeaders } from 'node:http';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';

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

import type { Guard } from '../guard.js';

/** The HTTP methods the daemon serves. */
export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';

/** The `:name` segments of a path, as a union of names: `'/api/sessions/:id/inject'` → `'id'`. */
export type PathParams<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | PathParams<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;

/** Header fields as node gives them (names lower case). */
export type HeaderFields = Record<string, string | string[] | undefined>;

/** What a request parser reads: the parsed JSON body (undefined when empty), the query and the header fields. */
export interface RequestParts {
  body: unknown;
  query: URLSearchParams;
  headers: HeaderFields;
}

/**
 * One daemon HTTP operation, declared once for the daemon's route and the client's call:
 * - `P`: its path with `:params`; `Body`/`Query`: what a client sends; `Req`: what `parse` makes of a request
 *   (the daemon's input, refused with today's `{error, code}` when bad); `Ans`: its answer, checked by `isAnswer`.
 */
export interface Operation<P extends string = string, Body = unknown, Query = undefined, Req = unknown, Ans = unknown> {
  name: string;
  method: HttpMethod;
  path: P;
  /** The status of a success when the handler does not say (200 unless given). */
  status?: number;
  /** Health checks answer without auth; everything else is checked. */
  public?: boolean;
  /** Only loopback peers (the local user) may call it, even with a token (token rotation). */
  localOnly?: boolean;
  parse(parts: RequestParts): Req;
  isAnswer: Guard<Ans>;
  /** The query string a client sends for `Query` (without `?`; empty for none). */
  query?(q: Query): URLSearchParams;
  /** Phantom: the body a client sends (never set; only its type is used). */
  readonly body?: Body;
}

/** Some operation (any of them): what a route table or a list of operations holds. */
export type AnyOperation = Operation<string, unknown, unknown, unknown, unknown>;
export type ParamsOf<O> = O extends Operation<infer P, infer _B, infer _Q, infer _R, infer _A> ? Record<PathParams<P>, string> : never;
export type BodyOf<O> = O extends Operation<string, infer B, infer _Q, infer _R, infer _A> ? B : never;
export type QueryOf<O> = O extends Operation<string, infer _B, infer Q, infer _R, infer _A> ? Q : never;
export type RequestOf<O> = O extends Operation<string, infer _B, infer _Q, infer R, infer _A> ? R : never;
export type AnswerOf<O> = O extends Operation<string, infer _B, infer _Q, infer _R, infer A> ? A : never;

/** Declare an operation; its types follow from the parser, the guard and the phantom body/query. */
export function operation<P extends string, Body = undefined, Query = undefined, Req = undefined, Ans = unknown>(
  op: Omit<Operation<P, Body, Query, Req, Ans>, 'body'>,
): Operation<P, Body, Query, Req, Ans> {
  return op;
}

/** Names of `:params` of a path, in order. */
export function paramNames(path: string): string[] {
  return path
    .split('/')
    .filter((s) => s.startsWith(':'))
    .map((s) => s.slice(1));
}

/** The path of a request: each `:param` replaced by its URL-encoded value. */
export function pathFor(path: string, params: Record<string, string>): string {
  return path
    .split('/')
    .map((s) => (s.startsWith(':') ? encodeURIComponent(params[s.slice(1)] ?? '') : s))
    .join('/');
}

/** `?wait=1` (or `true`). */
export function isFlag(v: string | null): boolean {
  return v === '1' || v === 'true';
}

/** A parser for operations that take nothing. */
export function noInput(): undefined {
  return undefined;
}

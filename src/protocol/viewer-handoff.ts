/**
 * Daemon → spawned host, over the IPC channel the daemon opened when it started the host: a viewer's upgrade
 * request, sent with the viewer's TCP socket as the handle. The daemon has already checked auth and the session;
 * the host completes the WebSocket handshake itself and serves the viewer with no daemon in between (one hop
 * instead of two for every keystroke and every byte of output).
 */
export interface ViewerHandoff {
  type: 'viewer_handoff';
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** Bytes the client sent after its request headers (base64; normally none). */
  head: string;
}

export function parseViewerHandoff(v: unknown): ViewerHandoff | null {
  if (typeof v !== 'object' || v === null) return null;
  const m = v as Record<string, unknown>;
  if (m.type !== 'viewer_handoff' || typeof m.method !== 'string' || typeof m.url !== 'string' || typeof m.head !== 'string') return null;
  if (typeof m.headers !== 'object' || m.headers === null) return null;
  return { type: 'viewer_handoff', method: m.method, url: m.url, headers: m.headers as ViewerHandoff['headers'], head: m.head };
}

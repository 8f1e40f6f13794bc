import { parseJsonFrame } from './json.js';

/** Viewer WebSocket at /api/sessions/:id (attach, dashboards). */
export const VIEWER_PATH_PREFIX = '/api/sessions/';

/** Daemon → viewer. `replay` comes first (the current screen), then live `output`. */
export type ViewerServerMessage =
  | { type: 'replay'; data: string }
  | { type: 'output'; data: string }
  | { type: 'exit'; code: number | null }
  | { type: 'error'; code: string; error: string };

/** Viewer → daemon. */
export type ViewerClientMessage = { type: 'input'; data: string } | { type: 'resize'; cols: number; rows: number };

/** Close codes the daemon uses with viewers. */
export const VIEWER_CLOSE = {
  SESSION_ENDED: 4100,
  TOO_SLOW: 4101,
  HOST_GONE: 4102,
  BAD_MESSAGE: 4103,
} as const;

export function parseViewerMessage(text: string): ViewerClientMessage | null {
  const v = parseJsonFrame(text);
  if (typeof v !== 'object' || v === null) return null;
  const m = v as Record<string, unknown>;
  if (m.type === 'input' && typeof m.data === 'string') return { type: 'input', data: m.data };
  if (m.type === 'resize' && Number.isInteger(m.cols) && Number.isInteger(m.rows)) {
    const cols = m.cols as number;
    const rows = m.rows as number;
    if (cols >= 2 && cols <= 1000 && rows >= 2 && rows <= 1000) return { type: 'resize', cols, rows };
  }
  return null;
}

/** A frame from the daemon (attach): one of ViewerServerMessage, or null for anything else. */
export function parseViewerServerMessage(text: string): ViewerServerMessage | null {
  const v = parseJsonFrame(text);
  if (typeof v !== 'object' || v === null) return null;
  const m = v as Record<string, unknown>;
  switch (m.type) {
    case 'replay':
    case 'output':
      return typeof m.data === 'string' ? { type: m.type, data: m.data } : null;
    case 'exit':
      return m.code === null || Number.isInteger(m.code) ? { type: 'exit', code: m.code as number | null } : null;
    case 'error':
      return typeof m.code === 'string' && typeof m.error === 'string' ? { type: 'error', code: m.code, error: m.error } : null;
    default:
      return null;
  }
}

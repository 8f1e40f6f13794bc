import { fileURLToPath } from 'node:url';
import type { Logger } from '../../util/log.js';
import type { UiHttp } from '../http/server.js';
import type { Route } from '../http/router.js';
import { UiLogins } from './login.js';
import { UiPages, isUiPath, isUiSessionRequest } from './pages.js';
import { uiRoutes } from './routes.js';

/** The built page: dist/web beside dist/daemon (scripts/bundle-web.mjs writes it). */
const BUILT_PAGE_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

export interface Dashboard {
  /** `POST /api/ui/login-link`. */
  routes: Route[];
  /** Its pages and its page's own calls, for the HTTP server. */
  http: UiHttp;
  /** Every dashboard logged out (the token was rotated). */
  logout(): void;
}

/** The web dashboard: one-time login links, cookie sessions, and the built page served by the daemon itself. */
export function createDashboard(opts: { log: Logger; now: () => number; base: () => string; dir?: string }): Dashboard {
  const logins = new UiLogins(opts.now);
  const pages = new UiPages({ dir: opts.dir ?? BUILT_PAGE_DIR, logins, log: opts.log });
  return {
    routes: uiRoutes(logins, opts.base),
    http: {
      isPath: isUiPath,
      isSession: (req) => isUiSessionRequest(req, logins),
      serve: (req, res, url) => pages.serve(req, res, url),
    },
    logout: () => logins.clear(),
  };
}

import { UI_LOGIN_PATH, uiLoginLinkOp } from '../../protocol/ops/ui.js';
import { routeFor, type Route } from '../http/router.js';
import type { UiLogins } from './login.js';

/** `POST /api/ui/login-link` (local user only): a one-time link into the dashboard, on `base` (`http://host:port`). */
export function uiRoutes(logins: UiLogins, base: () => string): Route[] {
  return [
    routeFor(uiLoginLinkOp, () => {
      const { code, expiresAt } = logins.issueCode();
      return { body: { url: `${base()}${UI_LOGIN_PATH}?code=${code}`, expires_at: new Date(expiresAt).toISOString() } };
    }),
  ];
}

import { isString, shape, type Guard } from '../guard.js';
import { noInput, operation } from './contract.js';

/** Where the dashboard's pages live on the daemon (static files, the login exchange). */
export const UI_PATH_PREFIX = '/ui';
/** The page that trades a one-time code (`?code=`) for the dashboard's cookie, then redirects to the page. */
export const UI_LOGIN_PATH = '/ui/login';

/** `POST /api/ui/login-link`: a one-time link that logs a browser on this machine into the dashboard. */
export interface UiLoginLinkResponse {
  /** `http://127.0.0.1:PORT/ui/login?code=…`: works once, until `expires_at`. */
  url: string;
  expires_at: string;
}

export const isUiLoginLinkResponse: Guard<UiLoginLinkResponse> = shape<UiLoginLinkResponse>({ url: isString, expires_at: isString });

/** `POST /api/ui/login-link` (local user only): a new one-time login link for the dashboard. */
export const uiLoginLinkOp = operation<'/api/ui/login-link', undefined, undefined, undefined, UiLoginLinkResponse>({
  name: 'ui.login-link',
  method: 'POST',
  path: '/api/ui/login-link',
  localOnly: true,
  parse: noInput,
  isAnswer: isUiLoginLinkResponse,
});

export const UI_OPERATIONS = [uiLoginLinkOp] as const;

import type { AuthPolicy } from '../auth.js';
import type { Route } from '../http/router.js';
import { rotateToken } from '../token.js';

/** `POST /api/token/rotate` (local user only): a new token in the 0600 token file, in force at once. */
export function tokenRoutes(tokenFile: string, auth: AuthPolicy, now: () => number): Route[] {
  return [
    {
      method: 'POST',
      path: '/api/token/rotate',
      localOnly: true,
      handler: async () => {
        auth.setToken(await rotateToken(tokenFile));
        return { body: { success: true, rotated_at: new Date(now()).toISOString() } };
      },
    },
  ];
}

import { rotateTokenOp } from '../../protocol/operations.js';
import type { AuthPolicy } from '../auth.js';
import { routeFor, type Route } from '../http/router.js';
import { rotateToken } from '../token.js';

/** `POST /api/token/rotate` (local user only): a new token in the 0600 token file, in force at once. */
export function tokenRoutes(tokenFile: string, auth: AuthPolicy, now: () => number): Route[] {
  return [
    routeFor(rotateTokenOp, async () => {
      auth.setToken(await rotateToken(tokenFile));
      return { body: { success: true as const, rotated_at: new Date(now()).toISOString() } };
    }),
  ];
}

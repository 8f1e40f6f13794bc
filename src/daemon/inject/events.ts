import type { TeleptyError } from '../../protocol/errors.js';
import type { InjectOrigin } from '../target.js';

/**
 * The fields of an `inject_failed` event, built here only: the injector's (a job or a request that failed) and the
 * auto-router's (a turn_request refused before it became a job: no inject id, so the field is absent).
 */
export function injectFailedFields(e: TeleptyError, target: string | null | undefined, origin: InjectOrigin, injectId?: string | null): Record<string, unknown> {
  return {
    ...(injectId === undefined ? {} : { inject_id: injectId }),
    target_agent: target,
    code: e.code,
    error: e.message,
    delivered: false,
    source_type: origin.source_type,
    ...origin.extra,
  };
}

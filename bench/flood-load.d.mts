/** Types of flood-load.mjs, for the e2e flood test that drives the same load in small. */
export interface FloodResult<T> {
  acked: number;
  publishErrors: number;
  publishSeconds: number;
  seconds: number;
  /** Every answered /api/health probe's time in ms. */
  health: number[];
  healthFailed: number;
  /** session_disconnect events seen while the flood lasted. */
  linksCut: number;
  /** Subscribers dropped as too slow (close 4201). */
  dropped: number;
  /** Events missed by subscribers that were not dropped. */
  lost: number;
  extra: T;
}

export function runFlood<T = undefined>(opts: { port: number; subscribers: number; events: number; window: number; during?: () => Promise<T>; timeoutMs?: number }): Promise<FloodResult<T>>;

/** /api/health answer times (ms) over `ms` of an idle daemon. */
export function idleHealth(port: number, ms: number): Promise<number[]>;

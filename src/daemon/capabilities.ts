/** Capabilities of this build (`GET /api/meta`): the seed's names (older clients check them) first, then telepty's. */
export const CAPABILITIES = [
  'sessions',
  'wrapped-sessions',
  'singleton-daemon',
  'handoff-inbox',
  'deliberation-threads',
  'inject-queue',
  'inject-wait',
  'screen',
  'attach',
  'persistent-sessions',
  'bus',
  'bus-filters',
  'bus-replay',
  'bus-batch',
  'auto-router',
];

/**
 * A fresh id for a request a client may have to repeat (an inject, a spawn): UUID v4 in form, 122 random bits from
 * V8's Math.random (seeded from the OS at start). Unique, not secret: ids show in bus events and logs anyway. No
 * node:crypto: loading it costs every `telepty inject` ~5 ms, a tenth of the command (start time is a feature).
 */
export function newRequestId(): string {
  const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
  const variant = (8 + Math.floor(Math.random() * 4)).toString(16);
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${variant}${hex(3)}-${hex(12)}`;
}

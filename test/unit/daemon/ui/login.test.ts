import { describe, expect, it } from 'vitest';
import { UI_LOGIN_CODE_TTL_MS, UI_SESSION_TTL_MS, UiLogins } from '../../../../src/daemon/ui/login.js';

describe('dashboard logins', () => {
  it('a code works once: the second redeem gets nothing, and an unknown code nothing either', () => {
    const logins = new UiLogins(() => 1_000);
    const { code } = logins.issueCode();
    const session = logins.redeem(code);
    expect(session).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(logins.isSession(session as string)).toBe(true);
    expect(logins.redeem(code)).toBeNull();
    expect(logins.redeem('not-a-code')).toBeNull();
    expect(logins.isSession('not-a-session')).toBe(false);
    expect(logins.isSession(code)).toBe(false);
  });

  it('a code expires after its minute; a session after its day; a rotation logs everyone out', () => {
    let now = 0;
    const logins = new UiLogins(() => now);
    const late = logins.issueCode().code;
    const fresh = logins.issueCode().code;
    now = UI_LOGIN_CODE_TTL_MS - 1;
    const session = logins.redeem(fresh) as string;
    expect(session).not.toBeNull();
    now = UI_LOGIN_CODE_TTL_MS;
    expect(logins.redeem(late)).toBeNull();
    now += UI_SESSION_TTL_MS - 2;
    expect(logins.isSession(session)).toBe(true);
    now += 1;
    expect(logins.isSession(session)).toBe(false);
    const again = logins.redeem(logins.issueCode().code) as string;
    expect(logins.isSession(again)).toBe(true);
    logins.clear();
    expect(logins.isSession(again)).toBe(false);
  });

  it('keeps a bounded number of unused codes: the oldest go first', () => {
    const logins = new UiLogins(() => 0);
    const first = logins.issueCode().code;
    for (let i = 0; i < 40; i++) logins.issueCode();
    const last = logins.issueCode().code;
    expect(logins.redeem(first)).toBeNull();
    expect(logins.redeem(last)).not.toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { compareVersions, versionNotice } from '../../../src/client/version-check.js';

describe('CLI and daemon versions', () => {
  it('orders dotted versions numerically', () => {
    expect(compareVersions('0.2.0', '0.1.53')).toBe(1);
    expect(compareVersions('0.1.53', '0.2.0')).toBe(-1);
    expect(compareVersions('0.10.0', '0.9.9')).toBe(1);
    expect(compareVersions('1.0.0', '1.0')).toBe(0);
    expect(compareVersions('1.0.0-beta.1', '1.0.0')).toBe(0);
  });

  it('says nothing when they agree, and names both versions and the restart when they differ', () => {
    expect(versionNotice('0.2.0', '0.2.0')).toBeNull();
    const older = versionNotice('0.1.9', '0.2.0');
    expect(older).toContain('the running daemon (0.1.9) is older than this CLI (0.2.0)');
    expect(older).toContain('telepty daemon restart');
    expect(versionNotice('0.3.0', '0.2.0')).toContain('is newer than this CLI');
    expect(versionNotice('0.2.0-rc.1', '0.2.0')).toContain('is different from this CLI');
  });
});

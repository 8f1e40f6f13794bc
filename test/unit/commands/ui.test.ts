import { describe, expect, it } from 'vitest';
import { canOpenBrowser } from '../../../src/commands/ui.js';

describe('telepty ui opens a browser only on a desktop', () => {
  it('needs a terminal and, on Linux, a graphical session', () => {
    expect(canOpenBrowser({ DISPLAY: ':0' }, true, 'linux')).toBe(true);
    expect(canOpenBrowser({ WAYLAND_DISPLAY: 'wayland-0' }, true, 'linux')).toBe(true);
    expect(canOpenBrowser({}, true, 'linux')).toBe(false);
    expect(canOpenBrowser({ DISPLAY: ':0' }, false, 'linux')).toBe(false);
    expect(canOpenBrowser({}, true, 'darwin')).toBe(true);
    expect(canOpenBrowser({}, false, 'darwin')).toBe(false);
  });
});

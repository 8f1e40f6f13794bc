import { describe, expect, it } from 'vitest';
import { MAX_OSC_CHARS, SignalScanner, oscSignal, titleSaysWorking } from '../../../src/terminal/signals.js';

describe('terminal signals in program output', () => {
  it('finds titles, notifications, progress, the bell and the alternate screen', () => {
    const s = new SignalScanner();
    const out = s.scan(
      'a\x1b]0;⠋ Working\x07b\x1b]9;Build done\x1b\\\x1b]9;4;3\x07\x1b]777;notify;Codex;Approval needed\x07' +
        '\x1b]99;i=1:d=0;Turn complete\x1b\\\x07\x1b[?1049h\x1b[?25l\x1b[?1049l\x1b[?2004;1047h\x1b]9;4;1;42\x07',
    );
    expect(out).toEqual([
      { kind: 'title', text: '⠋ Working' },
      { kind: 'notify', via: 'osc9', text: 'Build done' },
      { kind: 'progress', state: 'indeterminate', value: null },
      { kind: 'notify', via: 'osc777', text: 'Codex: Approval needed' },
      { kind: 'notify', via: 'osc99', text: 'Turn complete' },
      { kind: 'bell' },
      { kind: 'alt-screen', on: true },
      { kind: 'alt-screen', on: false },
      { kind: 'alt-screen', on: true },
      { kind: 'progress', state: 'value', value: 42 },
    ]);
  });

  it('finds a sequence split across chunks, at every split point', () => {
    const whole = 'x\x1b]2;⠙ Thinking\x1b\\y\x1b[?1049hz\x07';
    for (let cut = 0; cut <= whole.length; cut++) {
      const s = new SignalScanner();
      const out = [...s.scan(whole.slice(0, cut)), ...s.scan(whole.slice(cut))];
      expect(out, `cut at ${cut}`).toEqual([{ kind: 'title', text: '⠙ Thinking' }, { kind: 'alt-screen', on: true }, { kind: 'bell' }]);
    }
  });

  it('does not take the BEL that ends an OSC for a bell, and skips an oversized OSC', () => {
    const s = new SignalScanner();
    expect(s.scan('\x1b]0;title\x07')).toEqual([{ kind: 'title', text: 'title' }]);
    expect(s.scan(`\x1b]52;c;${'A'.repeat(MAX_OSC_CHARS + 10)}\x07\x07`)).toEqual([{ kind: 'bell' }]);
    expect(s.scan('\x1b]0;after\x07')).toEqual([{ kind: 'title', text: 'after' }]);
  });

  it('ignores OSCs that say nothing about state', () => {
    expect(oscSignal('8;;https://example.com')).toBeNull();
    expect(oscSignal('777;preexec')).toBeNull();
    expect(oscSignal('9;4;7')).toBeNull();
  });

  it('reads a braille spinner leading the title as working, a static glyph not', () => {
    expect(titleSaysWorking('⠋ Fix the auth bug')).toBe(true);
    expect(titleSaysWorking('✳ Claude Code')).toBe(false);
    expect(titleSaysWorking('bash')).toBe(false);
  });

  it('finds application cursor mode (DECCKM) switched on and off', () => {
    const s = new SignalScanner();
    expect(s.scan('\x1b[?1h\x1b[?25l')).toEqual([{ kind: 'app-cursor', on: true }]);
    expect(s.scan('\x1b[?1l')).toEqual([{ kind: 'app-cursor', on: false }]);
    expect(s.scan('\x1b[?1049;1h')).toEqual([{ kind: 'alt-screen', on: true }, { kind: 'app-cursor', on: true }]);
  });
});

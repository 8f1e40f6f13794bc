import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { homeId } from '../../../src/util/paths.js';

describe('home id', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('is the same for one folder however it is spelled, and differs between folders', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'telepty-home-id-'));
    dirs.push(root);
    const a = path.join(root, 'a');
    const b = path.join(root, 'b');
    mkdirSync(a);
    mkdirSync(b);
    symlinkSync(a, path.join(root, 'link-to-a'));
    const id = await homeId({ dataDir: a });
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(await homeId({ dataDir: path.join(root, 'link-to-a') })).toBe(id);
    expect(await homeId({ dataDir: `${a}/` })).toBe(id);
    expect(await homeId({ dataDir: b })).not.toBe(id);
    expect(await homeId({ dataDir: path.join(root, 'not-yet') })).toMatch(/^[0-9a-f]{16}$/);
  });
});

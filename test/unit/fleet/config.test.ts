import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fleetConfigFrom } from '../../../src/fleet/config.js';
import { planHub } from '../../../src/fleet/hub-config.js';

describe('joining a fleet from the environment', () => {
  it('is local only without credentials, and refuses a URL without them', async () => {
    expect(await fleetConfigFrom({}, 'desk')).toBeNull();
    await expect(fleetConfigFrom({ TELEPTY_NATS_URL: 'nats://hub:4222' }, 'desk')).rejects.toThrow(/without TELEPTY_NATS_CREDS/);
  });

  it("joins with this machine's credentials, the URL overriding the file's servers, and refuses another machine's", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'telepty-fleetcfg-'));
    try {
      const files = planHub({ machines: ['desk', 'laptop'], servers: ['nats://hub:4222'], listen: '0.0.0.0:4222', storeDir: dir });
      const file = path.join(dir, 'desk.creds.json');
      await fs.writeFile(file, JSON.stringify(files.credentials[0]));
      expect(await fleetConfigFrom({ TELEPTY_NATS_CREDS: file }, 'desk')).toMatchObject({ servers: ['nats://hub:4222'], credentials: { machine: 'desk' } });
      expect((await fleetConfigFrom({ TELEPTY_NATS_CREDS: file, TELEPTY_NATS_URL: 'tls://a:1,tls://b:2' }, 'desk'))?.servers).toEqual(['tls://a:1', 'tls://b:2']);
      await expect(fleetConfigFrom({ TELEPTY_NATS_CREDS: file }, 'laptop')).rejects.toThrow(/credentials of machine "desk", but this machine is "laptop"/);
      await expect(fleetConfigFrom({ TELEPTY_NATS_CREDS: path.join(dir, 'none.json') }, 'desk')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

import { execFile } from 'node:child_process';

/** stty answers within milliseconds; one that takes this long on a loaded machine gives "unknown". */
const STTY_TIMEOUT_MS = 2_000;

/** From `stty -a` output: true for `icanon`, false for `-icanon`, null when it says neither. */
export function parseCanonical(sttyOutput: string): boolean | null {
  const m = /(?:^|[\s;])(-?)icanon(?=[\s;]|$)/m.exec(sttyOutput);
  return m ? m[1] !== '-' : null;
}

/**
 * Whether the terminal `ptsName` is in canonical mode (the kernel's line editor hands over whole lines), as stty
 * reads its settings (GNU stty takes the device with -F, BSD/macOS stty with -f). Rejects when stty cannot tell.
 */
export function readCanonical(ptsName: string, platform: NodeJS.Platform = process.platform): Promise<boolean> {
  const deviceFlag = platform === 'linux' ? '-F' : '-f';
  return new Promise((resolve, reject) => {
    execFile('stty', [deviceFlag, ptsName, '-a'], { timeout: STTY_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout) => {
      if (err) {
        reject(err);
        return;
      }
      const canonical = parseCanonical(stdout);
      if (canonical === null) reject(new Error(`stty -a did not say whether ${ptsName} is in canonical mode`));
      else resolve(canonical);
    });
  });
}

import { promises as dns } from 'node:dns';
import net from 'node:net';
import { TeleptyError } from '../protocol/errors.js';
import { bareHost, interfaceAddresses, isLoopbackHost, isWildcardHost } from './config.js';

/** An address a daemon on this machine can listen on: loopback, a wildcard (0.0.0.0, ::) or an interface's address. */
export function isOwnAddress(host: string): boolean {
  const h = bareHost(host);
  return isLoopbackHost(h) || isWildcardHost(h) || interfaceAddresses().some((a) => a.toLowerCase() === h);
}

/**
 * Check the address a daemon is to listen on (`--host`, TELEPTY_HOST) before it is started: an IP address, or a name
 * this machine resolves, that is one of this machine's addresses. Anything else could only fail to listen (getaddrinfo
 * ENOTFOUND, EADDRNOTAVAIL), so it is a usage error: INVALID_FIELD (exit 2), naming what is accepted.
 */
export async function checkListenHost(host: string, source: string): Promise<void> {
  // Brackets are URL syntax (`[::1]:3848`): listen() takes the address alone, so `[::1]` is no address to it.
  const h = host.toLowerCase();
  let address = h;
  if (net.isIP(h) === 0) {
    try {
      // What listen() does with a name: the first address it resolves to.
      address = (await dns.lookup(h)).address;
    } catch (err) {
      if (!(err instanceof Error && 'code' in err)) throw err;
      throw new TeleptyError('INVALID_FIELD', `${source} must be an IP address or a name this machine resolves, got ${JSON.stringify(host)} (${String(err.code)})`, { field: 'host' });
    }
  }
  if (!isOwnAddress(address)) {
    const own = [...new Set(interfaceAddresses().filter((a) => !isLoopbackHost(a)))].join(', ');
    throw new TeleptyError(
      'INVALID_FIELD',
      `${source} ${host}${address !== h ? ` (${address})` : ''} is not an address of this machine: a daemon listens on 127.0.0.1 (the default), 0.0.0.0 (every interface)${own ? ` or one of its interfaces' addresses (${own})` : ''}`,
      { field: 'host' },
    );
  }
}

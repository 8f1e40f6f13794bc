import net from 'node:net';

/**
 * Whether something already listens on `host:port` (a bind there fails): `doctor`'s port check, and `fleet hub`
 * before it starts a nats-server that could only fail there (and would read the fleet's store meanwhile).
 */
export function portTaken(host: string, port: number): Promise<boolean> {
  if (port === 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(true));
    srv.listen(port, host, () => srv.close(() => resolve(false)));
  });
}

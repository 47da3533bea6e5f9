import { createServer } from 'node:net';

/** Whether something already listens on `port` (on the loopback or on every interface). */
function inUse(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve(true) : reject(error)));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(false)));
  });
}

/**
 * The named ports something else already listens on — checked before the offline stack starts,
 * because an emulator that finds its port taken either crashes the process (fauxqs) or, worse,
 * answers readiness probes from whatever holds the port (another DynamoDB Local).
 */
export async function portsInUse<P extends { [K in keyof P]: number }>(ports: P): Promise<(keyof P & string)[]> {
  const names = Object.keys(ports) as (keyof P & string)[];
  const busy = await Promise.all(names.map((name) => inUse(ports[name])));
  return names.filter((_, i) => busy[i]);
}

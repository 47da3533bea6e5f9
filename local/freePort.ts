import { createServer } from 'node:net';
import { DEFAULT_PORTS, type OfflinePorts } from './OfflineStack.ts';

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A free port for every part of an offline stack (a stack beside `npm start`, or several in one run). */
export async function freeOfflinePorts(): Promise<OfflinePorts> {
  const names = Object.keys(DEFAULT_PORTS) as (keyof OfflinePorts)[];
  return Object.fromEntries(await Promise.all(names.map(async (name) => [name, await freePort()] as const))) as Record<keyof OfflinePorts, number>;
}

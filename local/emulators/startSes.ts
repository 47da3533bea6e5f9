import sesModule from 'aws-ses-v2-local';
import type { Server } from 'node:http';
import type { RunningEmulator } from './startDynamoDbLocal.ts';

/** Starts aws-ses-v2-local (SES v1/v2 SendEmail, mailbox at GET /store, web view at /). */
export async function startSes(port: number): Promise<RunningEmulator> {
  // CommonJS module with an ES default export: Node hands ESM importers the exports object.
  const sesServer = (sesModule as unknown as { default: typeof sesModule }).default ?? sesModule;
  const server: Server = await (sesServer as unknown as (c: { port: number; host: string }) => Promise<Server>)({ port, host: '127.0.0.1' });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

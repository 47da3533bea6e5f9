import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../local/freePort.ts';
import { portsInUse } from '../../local/portsInUse.ts';

/** A Node process that starts DynamoDB Local on `port`, says "ready", and waits to be killed. */
function processHoldingDynamoDbLocal(port: number) {
  const script = `import { startDynamoDbLocal } from './local/emulators/startDynamoDbLocal.ts';
await startDynamoDbLocal(${port});
console.log('ready');
setInterval(() => {}, 60_000);`;
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], { stdio: ['ignore', 'pipe', 'inherit'] });
}

async function until(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
    if (await probe()) return true;
  }
  return probe();
}

describe('DynamoDB Local started by the offline stack', () => {
  it.skipIf(!existsSync('/usr/bin/setpriv') && !existsSync('/bin/setpriv'))(
    'stops when the Node process that started it is killed (-9), freeing its port',
    async () => {
      const port = await freePort();
      const holder = processHoldingDynamoDbLocal(port);
      let printed = '';
      holder.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
      expect(await until(async () => printed.includes('ready'), 60_000)).toBe(true);
      expect(await portsInUse({ dynamodb: port })).toEqual(['dynamodb']);

      holder.kill('SIGKILL');
      await once(holder, 'exit');

      expect(await until(async () => (await portsInUse({ dynamodb: port })).length === 0, 15_000)).toBe(true);
    },
    90_000,
  );
});

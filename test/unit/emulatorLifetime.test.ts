import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../local/freePort.ts';
import { portsInUse } from '../../local/portsInUse.ts';

/**
 * A Node process that starts DynamoDB Local on `port`, says "ready" and waits to be killed — or
 * prints why it could not start and exits 3.
 */
function processHoldingDynamoDbLocal(port: number, env: NodeJS.ProcessEnv = process.env) {
  const script = `import { startDynamoDbLocal } from './local/emulators/startDynamoDbLocal.ts';
try {
  await startDynamoDbLocal(${port});
} catch (error) {
  console.log(error.message);
  process.exit(3);
}
console.log('ready');
setInterval(() => {}, 60_000);`;
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], { stdio: ['ignore', 'pipe', 'inherit'], env });
}

async function until(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
    if (await probe()) return true;
  }
  return probe();
}

describe('DynamoDB Local started by the offline stack', () => {
  it('says Java is missing, in one line, when there is no java on PATH', async () => {
    const emptyPath = mkdtempSync(join(tmpdir(), 'herald-no-java-'));
    const starter = processHoldingDynamoDbLocal(await freePort(), { ...process.env, PATH: emptyPath });
    let printed = '';
    starter.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));

    const [code] = (await once(starter, 'exit')) as [number];
    rmSync(emptyPath, { recursive: true });

    expect(code).toBe(3);
    expect(printed.trim()).toBe('DynamoDB Local runs on Java 17+, and there is no `java` on PATH: install a JDK or JRE 17+ (e.g. apt install openjdk-17-jre-headless)');
  }, 60_000);

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

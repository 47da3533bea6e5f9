import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { freePort } from '../../local/freePort.ts';
import { portsInUse } from '../../local/portsInUse.ts';
import { runCommand } from '../runCommand.ts';

/**
 * Node arguments for a process that starts DynamoDB Local on `port`, says "ready" and waits to be
 * killed — or prints why it could not start and exits 3.
 */
function startingDynamoDbLocal(port: number): string[] {
  const script = `import { startDynamoDbLocal } from './local/emulators/startDynamoDbLocal.ts';
try {
  await startDynamoDbLocal(${port});
} catch (error) {
  console.log(error.message);
  process.exit(3);
}
console.log('ready');
setInterval(() => {}, 60_000);`;
  return ['--import', 'tsx', '--input-type=module', '--eval', script];
}

describe('DynamoDB Local started by the offline stack', () => {
  it('says Java is missing, in one line, when there is no java on PATH', async () => {
    const emptyPath = mkdtempSync(join(tmpdir(), 'herald-no-java-'));
    const result = await runCommand(process.execPath, startingDynamoDbLocal(await freePort()), { env: { PATH: emptyPath } });
    rmSync(emptyPath, { recursive: true });

    expect(result.code).toBe(3);
    expect(result.stdout.trim()).toBe('DynamoDB Local runs on Java 17+, and there is no `java` on PATH: install a JDK or JRE 17+ (e.g. apt install openjdk-17-jre-headless)');
  }, 60_000);

  it.skipIf(!existsSync('/usr/bin/setpriv') && !existsSync('/bin/setpriv'))(
    'stops when the Node process that started it is killed (-9), freeing its port',
    async () => {
      const port = await freePort();
      const holder = spawn(process.execPath, startingDynamoDbLocal(port), { stdio: ['ignore', 'pipe', 'inherit'] });
      let printed = '';
      holder.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
      await vi.waitFor(() => expect(printed).toContain('ready'), { timeout: 60_000, interval: 200 });
      expect(await portsInUse({ dynamodb: port })).toEqual(['dynamodb']);

      holder.kill('SIGKILL');
      await once(holder, 'exit');

      await vi.waitFor(async () => expect(await portsInUse({ dynamodb: port })).toEqual([]), { timeout: 15_000, interval: 200 });
    },
    90_000,
  );

  it('tells when its process dies after it was ready, and stop() still returns', async () => {
    // Prepare
    const port = await freePort();
    const script = `import { startDynamoDbLocal } from './local/emulators/startDynamoDbLocal.ts';
const emulator = await startDynamoDbLocal(${port});
emulator.ended.then(async (reason) => {
  console.log(reason);
  await emulator.stop();
  process.exit(4);
});
console.log('ready');
setInterval(() => {}, 60_000);`;
    let printed = '';
    const holder = runCommand(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], { onStdout: (chunk) => (printed += chunk) });
    await vi.waitFor(() => expect(printed).toContain('ready'), { timeout: 60_000, interval: 200 });

    // Act: the JVM dies (out of memory, killed by hand).
    await runCommand('pkill', ['-KILL', '-f', `DynamoDBLocal.jar .*-port ${port}$`]);

    // Assess
    const result = await holder;
    expect(result.code).toBe(4);
    expect(result.stdout).toContain('DynamoDB Local exited unexpectedly (signal SIGKILL)');
  }, 90_000);

  it('does not call an emulator stopped with stop() ended', async () => {
    const script = `import { startDynamoDbLocal } from './local/emulators/startDynamoDbLocal.ts';
const emulator = await startDynamoDbLocal(${await freePort()});
let ended = 'not ended';
emulator.ended.then((reason) => (ended = reason));
await emulator.stop();
await new Promise((r) => setTimeout(r, 500));
console.log(ended);`;
    const result = await runCommand(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script]);
    expect(result.stdout.trim(), result.stderr).toBe('not ended');
  }, 90_000);
});

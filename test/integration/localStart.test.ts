import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freeOfflinePorts } from '../../local/freePort.ts';
import { portsInUse } from '../../local/portsInUse.ts';
import { runCommand } from '../runCommand.ts';
import { waitFor } from './support.ts';

describe('npm start (local/start.ts)', () => {
  it('stops everything and exits 1, saying why, when DynamoDB Local dies under it', async () => {
    // Prepare: `npm start` on ports of its own (the HERALD_PORT_* variables), the default config.
    const ports = await freeOfflinePorts();
    const env = Object.fromEntries(Object.entries(ports).map(([name, port]) => [`HERALD_PORT_${name.toUpperCase()}`, String(port)]));
    const scratch = mkdtempSync(join(tmpdir(), 'herald-start-'));
    let printed = '';
    const running = runCommand(process.execPath, ['--import', 'tsx', 'local/start.ts', '--logs', 'silent', '--endpoints', join(scratch, 'endpoints.json')], {
      env,
      timeoutMs: 180_000,
      onStdout: (chunk) => (printed += chunk),
    });
    await waitFor('the offline stack running', async () => printed.includes('offline stack running'), 150_000, 250);

    // Act: the JVM dies (out of memory, killed by hand).
    await runCommand('pkill', ['-KILL', '-f', `DynamoDBLocal.jar .*-port ${ports.dynamodb}$`]);

    // Assess
    const result = await running;
    rmSync(scratch, { recursive: true, force: true });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('herald: DynamoDB Local exited unexpectedly (signal SIGKILL); the offline stack cannot go on without it; stopping …');
    expect(result.stdout).toContain('herald: stopped');
    expect(await portsInUse(ports)).toEqual([]);
  }, 200_000);
});

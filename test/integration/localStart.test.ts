import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freeOfflinePorts } from '../../local/freePort.ts';
import { portsInUse } from '../../local/portsInUse.ts';
import { synthesize } from '../../local/synth.ts';
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

/** The pids of a process's children (Linux, through pgrep). */
async function childrenOf(pid: number): Promise<number[]> {
  const { stdout } = await runCommand('pgrep', ['-P', String(pid)]);
  return stdout.split('\n').filter(Boolean).map(Number);
}

describe('npm start stops everything on a signal to any of its processes', () => {
  it.each([
    ['npm', 'SIGTERM'],
    ['npm', 'SIGINT'],
    ['npm', 'SIGHUP'],
    ['npm', 'SIGKILL'],
    ['node', 'SIGTERM'],
    ['node', 'SIGINT'],
    ['node', 'SIGHUP'],
  ] as const)('%s gets %s: every port is free again and no process of it is left', async (target, signal) => {
    // Prepare: `npm start` as a user runs it (npm → sh → node → the JVM), on ports of its own.
    if (!existsSync('cdk.out.local/manifest.json')) synthesize({ configPath: 'config/herald.json', outdir: 'cdk.out.local', quiet: true });
    const ports = await freeOfflinePorts();
    const env = { ...process.env, ...Object.fromEntries(Object.entries(ports).map(([name, port]) => [`HERALD_PORT_${name.toUpperCase()}`, String(port)])) };
    const scratch = mkdtempSync(join(tmpdir(), 'herald-signal-'));
    const npm = spawn('npm', ['start', '--', '--no-synth', '--logs', 'silent', '--endpoints', join(scratch, 'endpoints.json')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let printed = '';
    npm.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const exited = new Promise<void>((resolve) => npm.on('exit', () => resolve()));
    await waitFor('the offline stack running', async () => printed.includes('offline stack running'), 120_000, 250);
    // The script execs node, so node is npm's child (through a shell where the shell cannot exec).
    const [child] = await childrenOf(npm.pid!);
    const node = (await childrenOf(child!))[0] ?? child;
    expect(node).toBeGreaterThan(0);

    // Act
    process.kill(target === 'npm' ? npm.pid! : node!, signal);

    // Assess: the node process, with it the JVM, ends; the ports are free.
    await exited;
    await waitFor('the node process ended', async () => {
      try {
        process.kill(node!, 0);
        return false;
      } catch {
        return true;
      }
    }, 30_000, 250);
    await waitFor('every port free', async () => (await portsInUse(ports)).length === 0, 30_000, 250);
    const { stdout: jvms } = await runCommand('pgrep', ['-f', `DynamoDBLocal.jar .*-port ${ports.dynamodb}$`]);
    expect(jvms.trim()).toBe('');
    rmSync(scratch, { recursive: true, force: true });
  }, 180_000);
});

import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { runCommand, type RunOptions } from '../runCommand.ts';

/** Runs a repository script as `npm start` / `npm run bench` do (tsx), to its end. */
const runScript = (script: string, args: string[], options?: RunOptions) => runCommand(process.execPath, ['--import', 'tsx', script, ...args], options);

describe('a mistyped option of npm start / npm run bench', () => {
  it.each([
    ['local/start.ts', '--confg', 'herald', 'Usage: npm start -- [options]'],
    ['bench/run.ts', '--quik', 'bench', 'Usage: npm run bench -- [options]'],
    ['bench/chaos.ts', '--quik', 'chaos', 'Usage: npm run chaos -- [options]'],
    ['bench/batchingWindow.ts', '--windw', 'bench:batching-window', 'Usage: npm run bench:batching-window -- [options]'],
  ])('%s %s: names the option, shows the usage, exits 2 before starting anything', async (script, option, program, usage) => {
    const result = await runScript(script, [option]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${program}: Unknown option '${option}'`);
    expect(result.stderr).toContain(usage);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.stdout).toBe('');
  });
});

describe('a chaos profile that does not exist', () => {
  it.each([
    ['local/start.ts', '--chaos', 'herald: no chaos profile "apocalypse"; profiles: light, ambiguous, heavy'],
    ['bench/chaos.ts', '--profile', 'chaos: no profile "apocalypse"'],
  ])('%s %s: names the profiles, exits 2 before starting anything', async (script, option, message) => {
    const result = await runScript(script, [option, 'apocalypse']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });
});

describe('npm start with a port already taken', () => {
  it('names the port, what it is for and the variable that moves it, and exits 1 before synthesizing', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as AddressInfo;
    try {
      const result = await runScript('local/start.ts', [], { env: { HERALD_PORT_SQS: String(port) } });

      expect(result.code).toBe(1);
      expect(result.stderr).toContain('herald: cannot start: these ports are already in use:');
      expect(result.stderr).toMatch(new RegExp(`^  ${port}\\s+sqs\\s+HERALD_PORT_SQS$`, 'm'));
      expect(result.stdout).not.toContain('synthesizing');
    } finally {
      holder.close();
    }
  });

  it('refuses a port variable that is not a port number (exit 2)', async () => {
    const result = await runScript('local/start.ts', [], { env: { HERALD_PORT_GATEWAY: '45x' } });

    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('herald: HERALD_PORT_GATEWAY must be a port number (1–65535), not "45x"');
  });
});

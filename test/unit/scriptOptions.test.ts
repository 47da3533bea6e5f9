import { describe, expect, it } from 'vitest';
import { runCommand } from '../runCommand.ts';

/** Runs a repository script as `npm start` / `npm run bench` do (tsx), to its end. */
const runScript = (script: string, args: string[]) => runCommand(process.execPath, ['--import', 'tsx', script, ...args]);

describe('a mistyped option of npm start / npm run bench', () => {
  it.each([
    ['local/start.ts', '--confg', 'herald', 'Usage: npm start -- [options]'],
    ['bench/run.ts', '--quik', 'bench', 'Usage: npm run bench -- [options]'],
  ])('%s %s: names the option, shows the usage, exits 2 before starting anything', async (script, option, program, usage) => {
    const result = await runScript(script, [option]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${program}: Unknown option '${option}'`);
    expect(result.stderr).toContain(usage);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.stdout).toBe('');
  });
});

import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * `parseArgs` for the repository's scripts: a mistyped option prints the mistake and the usage
 * text and exits 2 (as the `herald` CLI does), instead of a stack trace.
 */
export function parseOptionsOrExit<T extends ParseArgsConfig>(config: T, usage: string, program: string): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    console.error(`${program}: ${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }
}

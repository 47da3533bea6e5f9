import { execFile } from 'node:child_process';

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end: its exit code and what it printed (also handed to `onStdout` as it comes). */
export function runCommand(file: string, args: string[], onStdout?: (chunk: string) => void): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (onStdout) child.stdout!.on('data', (chunk: Buffer | string) => onStdout(chunk.toString()));
  });
}

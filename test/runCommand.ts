import { execFile } from 'node:child_process';

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Handed what the command prints to stdout as it comes. */
  readonly onStdout?: (chunk: string) => void;
  /** Added to this process's environment. */
  readonly env?: Record<string, string>;
  /** Killed after this long. @default 60 s */
  readonly timeoutMs?: number;
}

/** Runs a command to its end: its exit code and what it printed. */
export function runCommand(file: string, args: string[], { onStdout, env, timeoutMs = 60_000 }: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    // maxBuffer: listings of a busy test day run past execFile's default 1 MB (which would kill the command).
    const child = execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (onStdout) child.stdout!.on('data', (chunk: Buffer | string) => onStdout(chunk.toString()));
  });
}

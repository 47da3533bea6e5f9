import { readFileSync } from 'node:fs';

/**
 * The processes whose end should end the offline stack: its parent and, when it runs under a shell
 * that npm started (a `start` script without `exec`), npm itself. npm passes SIGINT and SIGTERM
 * on to its child; a shell in between dies of SIGTERM, or waits out SIGINT, without passing them
 * on. So `npm start` execs node (package.json), and this watch ends the stack when whatever
 * started it is gone (npm killed with SIGKILL, for one): before, `kill <npm's pid>` left the
 * stack's processes running, holding the ports.
 */
export function launcherPids(): number[] {
  const pids = [process.ppid];
  const parent = processStat(process.ppid);
  if (process.env['npm_lifecycle_event'] !== undefined && parent !== undefined && ['sh', 'dash', 'bash'].includes(parent.command) && parent.ppid > 1) {
    pids.push(parent.ppid);
  }
  return pids;
}

/** Calls `onGone` once, when one of the processes has ended (or this one was handed to another parent). */
export function watchLaunchers(pids: readonly number[], onGone: (pid: number) => void, intervalMs = 500): void {
  const parent = pids[0];
  const timer = setInterval(() => {
    const gone = pids.find((pid) => !alive(pid)) ?? (process.ppid !== parent ? parent : undefined);
    if (gone === undefined) return;
    clearInterval(timer);
    onGone(gone!);
  }, intervalMs);
  timer.unref();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A process that has ended but not been reaped yet still answers kill(0): a zombie is gone.
  return processStat(pid)?.state !== 'Z';
}

/** Linux's /proc/<pid>/stat: the command, its state and parent; undefined elsewhere or once gone. */
function processStat(pid: number): { command: string; state: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const [state, ppid] = stat.slice(close + 2).split(' ');
    return { command: stat.slice(stat.indexOf('(') + 1, close), state: state!, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

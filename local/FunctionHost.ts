import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { mergeLedgers, type RequestLedger } from '../functions/adapters/requestAccounting.ts';

/** How the offline stack runs one Lambda function from the synthesized template. */
export interface LocalFunctionSpec {
  readonly logicalId: string;
  /** Absolute path of the bundle (asset dir + handler file). */
  readonly entry: string;
  readonly handlerName: string;
  readonly timeoutMs: number;
  readonly memorySize: number;
  /** The template turns X-Ray active tracing on (offline nothing is traced; the cost model counts it). */
  readonly traced: boolean;
  /** Lambda would write START and REPORT lines for each invocation (LoggingConfig). */
  readonly platformLogs: boolean;
  readonly environment: Record<string, string>;
  /** Execution environments that may run at once. */
  readonly concurrency: number;
}

/** A failed invocation, as the Lambda service reports it to an event source. */
export class InvocationError extends Error {
  public constructor(
    public readonly functionName: string,
    public readonly errorType: string,
    message: string,
  ) {
    super(`${functionName}: ${errorType}: ${message}`);
    this.name = 'InvocationError';
  }
}

interface Instance {
  worker: Worker;
  ready: Promise<void>;
  busy: boolean;
  /** Set to 1 (and notified) to thaw the frozen environment for its next invocation. */
  thawed: Int32Array;
  /** How the environment names itself to AWS (AWS_SDK_UA_APP_ID): `<logical id>.<n>`, so a fault can end this one. */
  readonly appId: string;
  /** Set when a fault ends the environment mid-invocation: the error the invocation reports. */
  stoppedBy?: 'crash' | 'timeout';
}

const WORKER_SCRIPT = fileURLToPath(new URL('./functionWorker.mjs', import.meta.url));

/** Lambda's memory size with one full vCPU. */
const LAMBDA_MB_PER_VCPU = 1_769;

/**
 * Runs a function's real bundle in worker threads, each with its own `process.env` (the template's
 * environment plus local endpoints), one invocation at a time per instance, with the function's
 * timeout enforced by terminating the instance — as Lambda does. Between invocations an instance
 * is frozen (functionWorker.mjs): nothing of it runs until the next invocation thaws it.
 */
export class LocalFunction {
  private readonly instances: Instance[] = [];
  private readonly waiting: Array<() => void> = [];
  private closed = false;
  public invocations = 0;
  public errors = 0;
  public readonly initDurationsMs: number[] = [];
  /** Sum of handler run times, and of Lambda's billed durations (each rounded up to 1 ms). */
  public durationMs = 0;
  public billedDurationMs = 0;
  /**
   * Billed duration as Lambda would bill it, estimated: the time spent waiting (wall time less CPU
   * time) plus the CPU time stretched to the function's vCPU share — Lambda gives 1 vCPU at
   * 1,769 MB and proportionally less below (docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html);
   * here every thread has a full core.
   */
  public lambdaBilledDurationMs = 0;
  /** Bytes these environments wrote to their log (what CloudWatch Logs would ingest). */
  public logBytes = 0;
  /**
   * Invocations ended by an injected crash, an injected timeout or the function's own deadline, and
   * the SQS records those invocations held (none of them flushed its metrics).
   */
  public crashes = 0;
  public timeouts = 0;
  public recordsInStoppedInvocations = 0;
  private spawned = 0;
  /** Requests the environments counted, sent with each answer (a frozen environment cannot be asked). */
  private ledger: RequestLedger = {};

  public constructor(
    private readonly spec: LocalFunctionSpec,
    private readonly log: (line: string) => void,
  ) {}

  public get name(): string {
    return this.spec.logicalId;
  }

  public get memorySize(): number {
    return this.spec.memorySize;
  }

  public get traced(): boolean {
    return this.spec.traced;
  }

  public get platformLogs(): boolean {
    return this.spec.platformLogs;
  }

  /** The bundle and environment this function runs with (benchmarks time cold imports of it). */
  public get bundle(): { readonly entry: string; readonly handlerName: string; readonly environment: Record<string, string> } {
    return { entry: this.spec.entry, handlerName: this.spec.handlerName, environment: this.spec.environment };
  }

  /** Zeroes the counters (invocations, durations, log bytes) before a measurement. */
  public resetCounters(): void {
    this.invocations = 0;
    this.errors = 0;
    this.durationMs = 0;
    this.billedDurationMs = 0;
    this.lambdaBilledDurationMs = 0;
    this.logBytes = 0;
    this.crashes = 0;
    this.timeouts = 0;
    this.recordsInStoppedInvocations = 0;
  }

  /**
   * Ends the environment named `appId` in the middle of its invocation: `crash` as a process that
   * died (Runtime.ExitError), `timeout` as one stopped at its deadline (Sandbox.Timedout). False
   * when that environment is not running an invocation.
   */
  public stopEnvironment(appId: string, how: 'crash' | 'timeout'): boolean {
    const instance = this.instances.find((i) => i.appId === appId && i.busy && i.stoppedBy === undefined);
    if (instance === undefined) return false;
    instance.stoppedBy = how;
    void instance.worker.terminate();
    return true;
  }

  /** The requests counted by this function's environments (one ledger: they are summed as answers arrive). */
  public async ledgers(reset: boolean): Promise<RequestLedger[]> {
    const ledger = structuredClone(this.ledger);
    if (reset) this.ledger = {};
    return [ledger];
  }

  public async invoke(event: unknown): Promise<unknown> {
    if (this.closed) throw new InvocationError(this.name, 'ServiceUnavailable', 'the offline stack is stopping');
    const instance = await this.acquire();
    this.invocations += 1;
    try {
      await instance.ready;
      return await this.run(instance, event);
    } catch (error) {
      this.errors += 1;
      throw error;
    } finally {
      this.release(instance);
    }
  }

  public async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.instances.map((i) => i.worker.terminate()));
    this.instances.length = 0;
  }

  private run(instance: Instance, event: unknown): Promise<unknown> {
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        this.replace(instance);
        // A slow box can run a function past its deadline with no fault injected: it stopped all the same.
        this.timeouts += 1;
        this.recordsInStoppedInvocations += recordsIn(event);
        reject(new InvocationError(this.name, 'Sandbox.Timedout', `Task timed out after ${this.spec.timeoutMs / 1000} seconds`));
      }, this.spec.timeoutMs);
      const onMessage = (message: { type: string; id?: string; ok?: boolean; result?: unknown; durationMs?: number; cpuMs?: number; error?: { name: string; message: string }; ledger?: RequestLedger }) => {
        if (message.type !== 'result' || message.id !== id) return;
        cleanup();
        this.countRequests(message.ledger);
        this.durationMs += message.durationMs ?? 0;
        this.billedDurationMs += Math.ceil(message.durationMs ?? 0);
        const wallMs = message.durationMs ?? 0;
        const cpuMs = Math.min(message.cpuMs ?? 0, wallMs);
        this.lambdaBilledDurationMs += Math.ceil(wallMs - cpuMs + cpuMs * Math.max(1, LAMBDA_MB_PER_VCPU / this.spec.memorySize));
        if (message.ok) resolve(message.result);
        else reject(new InvocationError(this.name, message.error?.name ?? 'Error', message.error?.message ?? 'unknown error'));
      };
      const onExit = (code: number) => {
        cleanup();
        this.replace(instance);
        if (instance.stoppedBy !== undefined) {
          if (instance.stoppedBy === 'crash') this.crashes += 1;
          else this.timeouts += 1;
          this.recordsInStoppedInvocations += recordsIn(event);
        }
        if (instance.stoppedBy === 'timeout') {
          reject(new InvocationError(this.name, 'Sandbox.Timedout', `Task timed out after ${this.spec.timeoutMs / 1000} seconds (injected)`));
          return;
        }
        reject(new InvocationError(this.name, 'Runtime.ExitError', `the execution environment exited with code ${code}${instance.stoppedBy ? ' (injected crash)' : ''}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        instance.worker.off('message', onMessage);
        instance.worker.off('exit', onExit);
      };
      instance.worker.on('message', onMessage);
      instance.worker.on('exit', onExit);
      instance.worker.postMessage({ type: 'invoke', id, requestId: randomUUID(), event, timeoutMs: this.spec.timeoutMs });
      Atomics.store(instance.thawed, 0, 1);
      Atomics.notify(instance.thawed, 0);
    });
  }

  private async acquire(): Promise<Instance> {
    for (;;) {
      const idle = this.instances.find((i) => !i.busy);
      if (idle) {
        idle.busy = true;
        return idle;
      }
      if (this.instances.length < this.spec.concurrency) {
        const created = this.spawn();
        created.busy = true;
        return created;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private release(instance: Instance): void {
    instance.busy = false;
    this.waiting.shift()?.();
  }

  private replace(instance: Instance): void {
    const index = this.instances.indexOf(instance);
    if (index >= 0) this.instances.splice(index, 1);
    void instance.worker.terminate();
    this.waiting.shift()?.();
  }

  private countRequests(ledger: RequestLedger | undefined): void {
    if (ledger !== undefined && Object.keys(ledger).length > 0) this.ledger = mergeLedgers(this.ledger, ledger);
  }

  private spawn(): Instance {
    const thawed = new Int32Array(new SharedArrayBuffer(4));
    this.spawned += 1;
    const appId = `${this.name}.${this.spawned}`;
    const worker = new Worker(WORKER_SCRIPT, {
      workerData: { entry: this.spec.entry, handlerName: this.spec.handlerName, functionName: this.name, memorySize: this.spec.memorySize, thawFlag: thawed.buffer },
      env: { ...this.spec.environment, AWS_SDK_UA_APP_ID: appId },
      stdout: true,
      stderr: true,
      execArgv: [],
    });
    const countAndLog = (line: string) => {
      this.logBytes += Buffer.byteLength(line) + 1;
      this.log(line);
    };
    // What reaches the worker's own stdio without functionWorker.mjs's redirection (native writes).
    for (const stream of [worker.stdout, worker.stderr]) createInterface({ input: stream }).on('line', countAndLog);
    let partial = '';
    worker.on('message', (message: { type: string; text?: string }) => {
      if (message.type !== 'log') return;
      const lines = (partial + (message.text ?? '')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) countAndLog(line);
    });
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (message: { type: string; initMs?: number; error?: { message: string }; ledger?: RequestLedger }) => {
        if (message.type === 'ready') {
          this.countRequests(message.ledger);
          this.initDurationsMs.push(message.initMs ?? 0);
          resolve();
        } else if (message.type === 'init_error') {
          reject(new InvocationError(this.name, 'Runtime.InitError', message.error?.message ?? 'init failed'));
        } else return;
        worker.off('message', onMessage);
      };
      worker.on('message', onMessage);
      worker.once('error', (error) => reject(new InvocationError(this.name, 'Runtime.InitError', error.message)));
    });
    ready.catch(() => {
      // Surfaced to the invoker; the broken instance is replaced on the next invocation.
      this.replace(instance);
    });
    worker.on('error', (error) => this.log(`[${this.name}] worker error: ${error.message}`));
    const instance: Instance = { worker, ready, busy: false, thawed, appId };
    this.instances.push(instance);
    return instance;
  }
}

/** The SQS records an invocation's event holds (0 for any other event). */
function recordsIn(event: unknown): number {
  return (event as { Records?: unknown[] } | null)?.Records?.length ?? 0;
}

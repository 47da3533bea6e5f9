import type { FaultProxy, FaultState, OperationCounts } from '../emulators/FaultProxy.ts';
import { FAULT_SERVICES, type FaultService } from '../emulators/FaultProxy.ts';
import type { LocalFunction } from '../FunctionHost.ts';
import { chaosProfile, seededRandom } from './profiles.ts';

/** What the stack gives the controller: its fault proxies, its functions, and DynamoDB Local's pause. */
export interface ChaosTarget {
  faults(service: string): FaultProxy | undefined;
  allFunctions(): LocalFunction[];
  pauseDynamoDb(ms: number): Promise<void>;
}

/** What a chaos run injected, per service and function: the numbers a report states its fault ratio from. */
export interface ChaosReport {
  readonly profile?: string;
  readonly seed?: number;
  readonly services: Record<FaultService, { readonly operations: Record<string, OperationCounts>; readonly rules: readonly FaultState[] }>;
  readonly functions: Record<string, { readonly invocations: number; readonly crashes: number; readonly timeouts: number; readonly recordsInStoppedInvocations: number }>;
  readonly dynamodbPauses: { readonly count: number; readonly totalMs: number };
  /** Requests through the proxies, faults injected there, plus invocations ended by a crash or timeout. */
  readonly totals: { readonly requests: number; readonly faults: number; readonly latencyFaults: number; readonly stoppedInvocations: number };
}

/**
 * Chaos mode of the offline stack: installs a named profile's rules on the fault proxies (rates
 * rolled from a seeded generator), pauses DynamoDB Local on the profile's rhythm, and reports what
 * was injected. Rules added by hand (admin `/faults`) live beside the profile's.
 */
export class ChaosController {
  private profile?: string;
  private seed?: number;
  private readonly installed = new Map<FaultService, string[]>();
  private pauseTimer?: NodeJS.Timeout;
  private pauses = { count: 0, totalMs: 0 };

  public constructor(private readonly target: ChaosTarget) {}

  /** Replaces any running profile with `name`, counters from zero. */
  public start(name: string, seed = 20261204): { profile: string; seed: number; rules: number } {
    const profile = chaosProfile(name);
    this.stop();
    this.reset();
    const random = seededRandom(seed);
    for (const { service, ...rule } of profile.rules) {
      const proxy = this.proxy(service);
      proxy.useRandom(random);
      const ids = this.installed.get(service) ?? [];
      ids.push(proxy.add(rule).id);
      this.installed.set(service, ids);
    }
    if (profile.dynamodbPause) {
      const { ms, everyMs } = profile.dynamodbPause;
      this.pauseTimer = setInterval(() => {
        this.pauses.count += 1;
        this.pauses.totalMs += ms;
        void this.target.pauseDynamoDb(ms);
      }, everyMs);
      this.pauseTimer.unref();
    }
    this.profile = name;
    this.seed = seed;
    return { profile: name, seed, rules: profile.rules.length };
  }

  /** Removes the profile's rules and stops the pauses; counters stay for the report. */
  public stop(): void {
    clearInterval(this.pauseTimer);
    this.pauseTimer = undefined;
    for (const [service, ids] of this.installed) for (const id of ids) this.proxy(service).remove(id);
    this.installed.clear();
  }

  /** Zeroes every proxy's and function's counters. */
  public reset(): void {
    for (const service of FAULT_SERVICES) this.proxy(service).resetCounts();
    for (const fn of this.target.allFunctions()) fn.resetCounters();
    this.pauses = { count: 0, totalMs: 0 };
  }

  public report(): ChaosReport {
    const services = Object.fromEntries(
      FAULT_SERVICES.map((service) => {
        const proxy = this.proxy(service);
        return [service, { operations: proxy.operationCounts(), rules: structuredClone(proxy.list()) }];
      }),
    ) as ChaosReport['services'];
    const functions = Object.fromEntries(
      this.target.allFunctions().map((f) => [f.name, { invocations: f.invocations, crashes: f.crashes, timeouts: f.timeouts, recordsInStoppedInvocations: f.recordsInStoppedInvocations }]),
    );
    let requests = 0;
    let faults = 0;
    let latencyFaults = 0;
    for (const { operations, rules } of Object.values(services)) {
      for (const counts of Object.values(operations)) {
        requests += counts.requests;
        faults += counts.faults;
      }
      for (const rule of rules) if (rule.effect === 'latency') latencyFaults += rule.hits;
    }
    const stoppedInvocations = Object.values(functions).reduce((sum, f) => sum + f.crashes + f.timeouts, 0);
    return {
      ...(this.profile !== undefined ? { profile: this.profile, seed: this.seed! } : {}),
      services,
      functions,
      dynamodbPauses: { ...this.pauses },
      totals: { requests, faults, latencyFaults, stoppedInvocations },
    };
  }

  private proxy(service: FaultService): FaultProxy {
    const proxy = this.target.faults(service);
    if (proxy === undefined) throw new Error(`no fault proxy for ${service}`);
    return proxy;
  }
}

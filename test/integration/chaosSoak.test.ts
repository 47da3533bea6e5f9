import { describe, expect, it } from 'vitest';
import { runChaosSoak } from '../../bench/chaos/soak.ts';

// `npm run chaos -- --quick`: the soak of docs/fault-model.md, small, on an offline stack of its
// own under the `heavy` profile. Every invariant must hold, and the faults must really have been
// injected (a soak that injected nothing would prove nothing).
describe('chaos soak (quick)', () => {
  it('loses and duplicates nothing under the heavy profile: every invariant holds after the drain', async () => {
    const report = await runChaosSoak({
      intents: 400,
      ratePerSecond: 40,
      profile: 'heavy',
      seed: 20261204,
      users: 8,
      rawUsers: 3,
      drainTimeoutMs: 150_000,
      configPath: 'bench/herald.chaos.json',
      assemblyDir: 'cdk.out.chaos',
      synth: true,
      functionLog: '.local/chaos-quick-functions.log',
    });
    const failed = report.invariants.filter((i) => !i.ok).map((i) => `${i.name}: ${i.detail}`);
    expect(failed).toEqual([]);
    expect(report.drainMs).not.toBeNull();
    expect(report.faults.ratio).toBeGreaterThan(0.08);
    for (const kind of ['error', 'ambiguous', 'drop', 'latency']) expect(report.faults.byKind[kind], kind).toBeGreaterThan(0);
    expect(report.sent.total).toBe(400);
  }, 360_000);
});

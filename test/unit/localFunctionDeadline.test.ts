import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvocationError, LocalFunction } from '../../local/FunctionHost.ts';

// A handler that outlives its deadline, or returns at once, as the event asks.
const dir = mkdtempSync(join(tmpdir(), 'herald-deadline-'));
const entry = join(dir, 'handler.mjs');
writeFileSync(entry, 'export const handler = async (event) => { if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs)); return "done"; };\n');

const fn = new LocalFunction(
  { logicalId: 'Slow', entry, handlerName: 'handler', timeoutMs: 300, memorySize: 128, traced: false, platformLogs: false, environment: {}, concurrency: 1 },
  () => undefined,
);
afterAll(() => fn.close());

describe('LocalFunction at its deadline', () => {
  it('counts an invocation that ran past its timeout as stopped, with the SQS records it held (none of them flushed its metrics)', async () => {
    const records = [{ body: 'a' }, { body: 'b' }, { body: 'c' }];
    const error = await fn.invoke({ Records: records, sleepMs: 5_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvocationError);
    expect((error as InvocationError).errorType).toBe('Sandbox.Timedout');
    expect(fn.timeouts).toBe(1);
    expect(fn.recordsInStoppedInvocations).toBe(3);
    // The environment was replaced: the next invocation runs and counts nothing stopped.
    await expect(fn.invoke({ Records: records })).resolves.toBe('done');
    expect(fn.timeouts).toBe(1);
    expect(fn.recordsInStoppedInvocations).toBe(3);
  });
});

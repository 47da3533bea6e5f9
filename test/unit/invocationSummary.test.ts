import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { NotificationStore } from '../../functions/core/ports.ts';
import type { NotificationRecord, RouteRecord } from '../../functions/core/types.ts';

// The handlers' shared modules read the environment at import: tracing off, as offline.
process.env['POWERTOOLS_TRACE_ENABLED'] = 'false';
let shared: {
  routeAttempts: typeof import('../../functions/handlers/shared/routeAttempts.ts').routeAttempts;
  invocationSummary: typeof import('../../functions/handlers/shared/invocationSummary.ts').invocationSummary;
  logInvocationSummary: typeof import('../../functions/handlers/shared/invocationSummary.ts').logInvocationSummary;
};
beforeAll(async () => {
  const [attempts, summary] = await Promise.all([
    import('../../functions/handlers/shared/routeAttempts.ts'),
    import('../../functions/handlers/shared/invocationSummary.ts'),
  ]);
  shared = { routeAttempts: attempts.routeAttempts, ...summary };
});

const notification: NotificationRecord = {
  notification_id: 'n_1',
  notification_type: 'welcome',
  producer: 'tests',
  idempotency_key: 'k1',
  audience_kind: 'user',
  payload: {},
  content_hash: 'h',
  trace_id: 't1',
  accepted_at: 0,
  route_count: 1,
  state: 'accepting',
};
const route: RouteRecord = {
  notification_id: 'n_1',
  route_id: 'push:u1',
  channel: 'push',
  user_id: 'u1',
  status: 'pending',
  attempts: 1,
  max_attempts: 6,
  next_attempt_at: 0,
  due_shard: 0,
  updated_at: 0,
  lease_token: 'lease',
};

/** JSON lines the code under test writes (stdout, and stderr where WARN and ERROR go) while `act` runs. */
async function logLines(act: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const written: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  };
  const spies = [vi.spyOn(process.stdout, 'write').mockImplementation(capture), vi.spyOn(process.stderr, 'write').mockImplementation(capture)];
  try {
    await act();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return written.join('').split('\n').filter((line) => line.startsWith('{"level"')).map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** A push attempt that sends, whose completion write is `recorded` or loses the race. */
function attemptThatPublishes(recorded: boolean) {
  const store = { completeRoute: async () => recorded } as unknown as NotificationStore;
  const deliver = shared.routeAttempts({
    store,
    retryPolicy: { minMs: 1_000, maxMs: 60_000, jitter: 0, maxAttempts: 6 },
    leaseMs: 60_000,
    dispatchers: { push: { dispatch: async () => undefined } },
  });
  return deliver.attemptLeased(notification, route, 'lease');
}

afterEach(() => shared.invocationSummary.clear());

describe('invocation summary of route attempts', () => {
  it('puts a recorded publish on the summary as notification/route, with no line of its own at INFO', async () => {
    const lines = await logLines(() => attemptThatPublishes(true));

    expect(lines).toEqual([]);
    expect(shared.invocationSummary.fields()).toEqual({ published: ['n_1/push:u1'] });
  });

  it('warns, with the correlation fields, about a publish whose route changed under it, and does not list it as published', async () => {
    const lines = await logLines(() => attemptThatPublishes(false));

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'WARN',
      message: 'route published but not recorded: the route changed under the attempt',
      notification_id: 'n_1',
      route_id: 'push:u1',
      producer: 'tests',
      idempotency_key: 'k1',
      trace_id: 't1',
      recorded: false,
    });
    expect(shared.invocationSummary.fields()).toEqual({ lost_race: 1 });
  });

  it('logs the summary as one INFO line when the invocation ends, then starts empty; nothing when nothing happened', async () => {
    const middleware = shared.logInvocationSummary('delivery batch');
    shared.invocationSummary.add('published', 'n_1/push:u1');
    shared.invocationSummary.add('published', 'n_2/push:u2');
    shared.invocationSummary.count('retry_scheduled');

    const lines = await logLines(() => middleware.after!({} as never));
    const quiet = await logLines(() => middleware.after!({} as never));

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'INFO', message: 'delivery batch', retry_scheduled: 1, published: ['n_1/push:u1', 'n_2/push:u2'] });
    expect(quiet).toEqual([]);
  });
});

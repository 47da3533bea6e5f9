/**
 * Gathers the single-item calls made in one turn of the event loop into one batch call. The
 * records of an SQS batch are processed in parallel and each asks for one notification, one user
 * state or one queue send at the same moment; one BatchGetItem or SendMessageBatch answers them all.
 *
 * `runBatch` gets the distinct keys of the turn and answers each with its value, or with an Error
 * that rejects only the callers of that key.
 */
export class Coalescer<K, V> {
  private pending = new Map<K, { resolve: (value: V) => void; reject: (error: unknown) => void }[]>();

  public constructor(private readonly runBatch: (keys: K[]) => Promise<Map<K, V | Error>>) {}

  public load(key: K): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      if (this.pending.size === 0) setImmediate(() => void this.flush());
      const waiters = this.pending.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.pending.set(key, [{ resolve, reject }]);
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    const keys = [...batch.keys()];
    const results = await this.answer(keys);
    // One failed request must not fail every caller that shared it: a key whose shared call
    // failed is asked again alone, once, so only the callers whose own request fails see an error.
    const failed = keys.length > 1 ? keys.filter((key) => !results.has(key) || results.get(key) instanceof Error) : [];
    await Promise.all(
      failed.map(async (key) => {
        const alone = await this.answer([key]);
        results.set(key, alone.has(key) ? alone.get(key)! : new Error('the batch call gave no answer for this key'));
      }),
    );
    for (const [key, waiters] of batch) {
      const result = results.has(key) ? results.get(key)! : new Error('the batch call gave no answer for this key');
      for (const w of waiters) {
        if (result instanceof Error) w.reject(result);
        else w.resolve(result);
      }
    }
  }

  /** The batch call's answers; a call that throws answers every key with its error. */
  private async answer(keys: K[]): Promise<Map<K, V | Error>> {
    try {
      return await this.runBatch(keys);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      return new Map(keys.map((key) => [key, failure]));
    }
  }
}

/** `true` once `work` succeeds, or the Error it failed with: one batch call's answer for each of its keys. */
export function settled(work: Promise<unknown>): Promise<true | Error> {
  return work.then(() => true as const, (error: unknown) => (error instanceof Error ? error : new Error(String(error))));
}

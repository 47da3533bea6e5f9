/**
 * Runs `work` over `items` with at most `concurrency` in flight; rejects on the first failure.
 * `stopWhen` is asked before each item is started: once it says true, no more are started (those
 * under way finish). Answers the results of the items started, in order: a prefix of `items`.
 */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<R>,
  options: { readonly stopWhen?: () => boolean } = {},
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length && options.stopWhen?.() !== true) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  });
  await Promise.all(workers);
  results.length = next;
  return results;
}

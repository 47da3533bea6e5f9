import type { MiddlewareObj } from '@middy/core';
import { logger } from './observability.ts';

const counts = new Map<string, number>();
const lists = new Map<string, string[]>();

/**
 * What the current invocation did, told on one INFO line when it ends. A success is one entry here
 * (an id) instead of a line of its own, which goes out at DEBUG: CloudWatch Logs bills every byte,
 * and a ~500-byte line per published route cost more than the Lambda duration of publishing it.
 * Failures keep their own WARN/ERROR lines with every correlation field.
 */
export const invocationSummary = {
  count(name: string, by = 1): void {
    counts.set(name, (counts.get(name) ?? 0) + by);
  },
  add(list: string, id: string): void {
    const ids = lists.get(list);
    if (ids) ids.push(id);
    else lists.set(list, [id]);
  },
  /** The fields of the summary line so far (counts, then id lists). */
  fields(): Record<string, number | string[]> {
    return { ...Object.fromEntries(counts), ...Object.fromEntries(lists) };
  },
  clear(): void {
    counts.clear();
    lists.clear();
  },
};

/** Middy middleware: logs the invocation's summary line as `message` when it ends, however it ends, and starts the next one empty. */
export const logInvocationSummary = (message: string): MiddlewareObj => {
  const flush = async () => {
    const fields = invocationSummary.fields();
    invocationSummary.clear();
    if (Object.keys(fields).length > 0) logger.info(message, fields);
  };
  return { before: async () => invocationSummary.clear(), after: flush, onError: flush };
};

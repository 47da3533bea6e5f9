import type { Clock } from '../types.ts';

/**
 * A value loaded on demand and kept for a time to live. A failed load is never kept: the next
 * call loads again (a value cached at cold start that failed would refuse every caller until the
 * environment is recycled). When a refresh fails, the previous value, if any, is still served.
 * Concurrent callers share one load.
 */
export class RefreshingValue<T> {
  private cached?: { readonly value: T; readonly loadedAt: number };
  private loading?: Promise<T>;

  public constructor(
    private readonly load: () => Promise<T>,
    private readonly ttlMs: number,
    private readonly clock: Clock,
    private readonly onStaleServed: (error: unknown) => void = () => {},
  ) {}

  /** The value, loaded again when older than the time to live. */
  public get(): Promise<T> {
    return this.refreshIfOlderThan(this.ttlMs);
  }

  /** The value, loaded again when older than `ageMs` (e.g. after a key did not match, in case it was just rotated). */
  public async refreshIfOlderThan(ageMs: number): Promise<T> {
    const cached = this.cached;
    if (cached !== undefined && this.clock.now() - cached.loadedAt < ageMs) return cached.value;
    try {
      return await this.loadOnce();
    } catch (error) {
      if (cached === undefined) throw error;
      this.onStaleServed(error);
      return cached.value;
    }
  }

  private loadOnce(): Promise<T> {
    this.loading ??= this.load().then(
      (value) => {
        this.cached = { value, loadedAt: this.clock.now() };
        this.loading = undefined;
        return value;
      },
      (error: unknown) => {
        this.loading = undefined;
        throw error;
      },
    );
    return this.loading;
  }
}

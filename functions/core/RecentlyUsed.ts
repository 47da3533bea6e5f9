/**
 * A map that keeps at most `capacity` entries, dropping the least recently set or touched one:
 * per-connection state kept in an execution environment's memory stays bounded however many
 * connections pass through it.
 */
export class RecentlyUsed<K, V> {
  private readonly entries = new Map<K, V>();

  public constructor(private readonly capacity: number) {}

  /** The value, now the most recently used. */
  public get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) this.set(key, value);
    return value;
  }

  public set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    // A Map iterates in insertion order: the first key is the least recently used.
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  public delete(key: K): void {
    this.entries.delete(key);
  }
}

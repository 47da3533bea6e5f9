/** Splits `items` into consecutive groups of at most `size` (the last may be shorter), for APIs that cap a batch. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`chunk size must be a positive integer, got ${size}`);
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += size) groups.push(items.slice(i, i + size));
  return groups;
}

/**
 * Splits `items` into consecutive groups of at most `maxCount` whose `sizeOf` add up to at most
 * `maxSize`, for APIs that cap a batch's entries and its total bytes. An item larger than
 * `maxSize` on its own gets a group of its own (the API then refuses that entry, not its neighbours).
 */
export function chunkWithin<T>(items: readonly T[], maxCount: number, maxSize: number, sizeOf: (item: T) => number): T[][] {
  if (!Number.isInteger(maxCount) || maxCount < 1) throw new RangeError(`chunk size must be a positive integer, got ${maxCount}`);
  const groups: T[][] = [];
  let group: T[] = [];
  let size = 0;
  for (const item of items) {
    const itemSize = sizeOf(item);
    if (group.length > 0 && (group.length === maxCount || size + itemSize > maxSize)) {
      groups.push(group);
      group = [];
      size = 0;
    }
    group.push(item);
    size += itemSize;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

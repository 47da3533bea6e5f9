import { describe, expect, it } from 'vitest';
import { DELETION_MARGIN_MS, EVENT_KEEP_AFTER_FRESHNESS_MS, NEW_EPOCH_SKIP, readStreamHead } from '../../functions/core/push/streamHead.ts';

const now = 1_800_000_000_000;
const hour = 3_600_000;
const head = { epoch: 'e1', base: 0, startedAt: now - hour };

describe('readStreamHead: the last position from the head item and the newest event', () => {
  it('is absent without a head item, beginning at 0, or well above anything left in the partition (a purge under way)', () => {
    expect(readStreamHead(undefined, undefined, now)).toEqual({ kind: 'absent', base: 0 });
    expect(readStreamHead(undefined, { epoch: 'old', position: 7, deletableAt: now + hour * 48 }, now)).toEqual({ kind: 'absent', base: 7 + NEW_EPOCH_SKIP });
  });

  it('takes the newest event of the epoch while TTL cannot delete it for more than the margin', () => {
    const newest = { epoch: 'e1', position: 42, deletableAt: now + DELETION_MARGIN_MS + 1 };
    expect(readStreamHead(head, newest, now)).toEqual({ kind: 'known', head: { epoch: 'e1', position: 42 } });
  });

  it('does not vouch for a newest event within the margin of deletion (later ones may be gone): a new epoch well above it', () => {
    const newest = { epoch: 'e1', position: 42, deletableAt: now + DELETION_MARGIN_MS };
    expect(readStreamHead(head, newest, now)).toEqual({ kind: 'unknown', epoch: 'e1', base: 42 + NEW_EPOCH_SKIP });
    expect(readStreamHead(head, { ...newest, deletableAt: now - 1 }, now)).toEqual({ kind: 'unknown', epoch: 'e1', base: 42 + NEW_EPOCH_SKIP });
  });

  it('takes the base of an epoch without events while none of its events could have been deleted yet', () => {
    const begun = { epoch: 'e2', base: 9, startedAt: now - EVENT_KEEP_AFTER_FRESHNESS_MS + DELETION_MARGIN_MS + 1 };
    expect(readStreamHead(begun, undefined, now)).toEqual({ kind: 'known', head: { epoch: 'e2', position: 9 } });
  });

  it('begins a new epoch when an epoch without events found is old enough for its events to have been deleted', () => {
    const old = { epoch: 'e2', base: 9, startedAt: now - EVENT_KEEP_AFTER_FRESHNESS_MS + DELETION_MARGIN_MS };
    expect(readStreamHead(old, undefined, now)).toEqual({ kind: 'unknown', epoch: 'e2', base: 9 + NEW_EPOCH_SKIP });
  });

  it('ignores a leftover of another epoch below the base, and begins a new epoch above one past it', () => {
    const begun = { epoch: 'e2', base: 9, startedAt: now - hour };
    expect(readStreamHead(begun, { epoch: 'e1', position: 9, deletableAt: now + hour }, now)).toEqual({ kind: 'known', head: { epoch: 'e2', position: 9 } });
    expect(readStreamHead(begun, { epoch: 'e1', position: 12, deletableAt: now + hour * 48 }, now)).toEqual({ kind: 'unknown', epoch: 'e2', base: 12 + NEW_EPOCH_SKIP });
  });
});

import { BillingMode, type Table } from 'aws-cdk-lib/aws-dynamodb';

/**
 * How DynamoDB bills the tables' reads and writes.
 *
 * - `on-demand` (the default): per request, no capacity planning, no throttling below the
 *   account's table limits.
 * - `provisioned`: each table and each of its indexes gets read and write capacity units that
 *   Application Auto Scaling keeps near a target utilisation. A capacity unit is cheaper than the
 *   same work on demand when it is mostly used, so steady high-volume traffic costs less; traffic
 *   that rises faster than auto scaling follows (minutes) is throttled beyond the tables' burst
 *   allowance, and throttled writes wait in the queues for a retry. The minimum is paid every hour,
 *   busy or not.
 *
 * @example
 * { mode: 'provisioned', maxWriteCapacity: 500, maxReadCapacity: 250 }
 */
export type TableCapacityProps = OnDemandCapacityProps | ProvisionedCapacityProps;

export interface OnDemandCapacityProps {
  readonly mode: 'on-demand';
}

export interface ProvisionedCapacityProps {
  readonly mode: 'provisioned';
  /** Upper bound of each table's and each index's write capacity units. */
  readonly maxWriteCapacity: number;
  /** Upper bound of each table's and each index's read capacity units. */
  readonly maxReadCapacity: number;
  /** Write capacity units each table and index keeps when idle (paid every hour). @default 5 */
  readonly minWriteCapacity?: number;
  /** Read capacity units each table and index keeps when idle (paid every hour). @default 5 */
  readonly minReadCapacity?: number;
  /** Auto scaling keeps consumed ÷ provisioned capacity near this percentage. @default 70 */
  readonly targetUtilizationPercent?: number;
}

/** Provisioned capacity with every default filled in, checked. */
export type ValidatedTableCapacity = OnDemandCapacityProps | Required<ProvisionedCapacityProps>;

/** DynamoDB's default per-table quota of capacity units (reads, writes), adjustable by AWS support. */
const MAX_CAPACITY_UNITS = 40_000;
const PROVISIONED_KEYS = ['mode', 'maxWriteCapacity', 'maxReadCapacity', 'minWriteCapacity', 'minReadCapacity', 'targetUtilizationPercent'];

/**
 * Checks the props, which may come from a JSON config file where nothing checks their shape: a
 * misspelled key is an error, not a silently ignored setting.
 */
export function validateTableCapacity(capacity: TableCapacityProps | undefined): ValidatedTableCapacity {
  const fail = (problem: string): never => {
    throw new Error(`NotificationService: tableCapacity ${problem}`);
  };
  if (capacity === undefined) return { mode: 'on-demand' };
  if (typeof capacity !== 'object' || capacity === null) return fail('must be an object with a mode');
  if (capacity.mode === 'on-demand') {
    const extra = Object.keys(capacity).filter((k) => k !== 'mode');
    if (extra.length > 0) fail(`mode "on-demand" takes no other settings (got ${extra.join(', ')})`);
    return { mode: 'on-demand' };
  }
  if (capacity.mode !== 'provisioned') return fail('mode must be "on-demand" or "provisioned"');
  const unknown = Object.keys(capacity).filter((k) => !PROVISIONED_KEYS.includes(k));
  if (unknown.length > 0) fail(`has unknown settings: ${unknown.join(', ')}`);
  const units = (name: keyof ProvisionedCapacityProps, value: unknown): number => {
    if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > MAX_CAPACITY_UNITS) {
      fail(`${name} must be an integer from 1 to ${MAX_CAPACITY_UNITS}`);
    }
    return value as number;
  };
  const validated = {
    mode: 'provisioned' as const,
    maxWriteCapacity: units('maxWriteCapacity', capacity.maxWriteCapacity),
    maxReadCapacity: units('maxReadCapacity', capacity.maxReadCapacity),
    minWriteCapacity: units('minWriteCapacity', capacity.minWriteCapacity ?? 5),
    minReadCapacity: units('minReadCapacity', capacity.minReadCapacity ?? 5),
    targetUtilizationPercent: capacity.targetUtilizationPercent ?? 70,
  };
  if (validated.minWriteCapacity > validated.maxWriteCapacity) fail('minWriteCapacity must not exceed maxWriteCapacity');
  if (validated.minReadCapacity > validated.maxReadCapacity) fail('minReadCapacity must not exceed maxReadCapacity');
  // DynamoDB target tracking accepts 20–90 %.
  const target = validated.targetUtilizationPercent;
  if (!Number.isInteger(target) || target < 20 || target > 90) fail('targetUtilizationPercent must be an integer from 20 to 90');
  return validated;
}

/** The capacity part of a global secondary index's props: its minimum, where auto scaling starts. */
export function indexCapacity(capacity: ValidatedTableCapacity) {
  return capacity.mode === 'on-demand' ? {} : { readCapacity: capacity.minReadCapacity, writeCapacity: capacity.minWriteCapacity };
}

/** The billing part of a table's props: the mode, and a provisioned table starts at its minimum like its indexes. */
export function tableBilling(capacity: ValidatedTableCapacity) {
  return { billingMode: capacity.mode === 'on-demand' ? BillingMode.PAY_PER_REQUEST : BillingMode.PROVISIONED, ...indexCapacity(capacity) };
}

/**
 * Auto scaling for a provisioned table and each of its global secondary indexes (call after the
 * indexes are added). Indexes scale too: an index short of write capacity throttles writes to the
 * table itself.
 */
export function autoScaleTable(table: Table, indexNames: readonly string[], capacity: ValidatedTableCapacity): void {
  if (capacity.mode === 'on-demand') return;
  const reads = { minCapacity: capacity.minReadCapacity, maxCapacity: capacity.maxReadCapacity };
  const writes = { minCapacity: capacity.minWriteCapacity, maxCapacity: capacity.maxWriteCapacity };
  const target = { targetUtilizationPercent: capacity.targetUtilizationPercent };
  table.autoScaleReadCapacity(reads).scaleOnUtilization(target);
  table.autoScaleWriteCapacity(writes).scaleOnUtilization(target);
  for (const indexName of indexNames) {
    table.autoScaleGlobalSecondaryIndexReadCapacity(indexName, reads).scaleOnUtilization(target);
    table.autoScaleGlobalSecondaryIndexWriteCapacity(indexName, writes).scaleOnUtilization(target);
  }
}

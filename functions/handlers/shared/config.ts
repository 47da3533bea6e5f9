import { DEFAULT_RETRY_POLICY, validateRetryPolicy, type RetryPolicy } from '../../core/backoff/computeBackoff.ts';
import type { Catalog } from '../../core/catalog/catalogTypes.ts';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../../core/constants.ts';
import { ConfigurationError } from '../../core/errors.ts';
import { validateClientBudget, type ClientBudgetPolicy } from '../../core/push/ClientBudget.ts';

/** Reads a required environment variable, failing cold start with the variable's name. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new ConfigurationError(`environment variable ${name} is required`);
  return value;
}

function numberEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new ConfigurationError(`environment variable ${name} must be a number, got "${raw}"`);
  return value;
}

function jsonEnv(name: string, value?: string): unknown {
  const raw = value ?? requireEnv(name);
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw new ConfigurationError(`environment variable ${name} is not valid JSON`, { cause: error });
  }
}

/** What one WebSocket connection may ask of Herald (CLIENT_BUDGET, JSON; the defaults without it). */
export function clientBudgetFromEnv(): ClientBudgetPolicy {
  const raw = process.env['CLIENT_BUDGET'];
  return validateClientBudget(raw === undefined || raw === '' ? undefined : jsonEnv('CLIENT_BUDGET', raw), 'environment variable CLIENT_BUDGET');
}

/**
 * The service settings a handler needs. The catalog is compiled into the bundle by esbuild
 * (`process.env.HERALD_CATALOG` is a define), so it is not limited by Lambda's 4 KB environment.
 */
export interface ServiceConfig {
  readonly tableName: string;
  readonly catalog: Catalog;
  readonly retryPolicy: RetryPolicy;
  readonly maxPayloadBytes: number;
  readonly dueShards: number;
  readonly retentionMs: number;
}

export function loadServiceConfig(): ServiceConfig {
  const retry = process.env['RETRY_POLICY'] ? (jsonEnv('RETRY_POLICY') as Partial<RetryPolicy>) : {};
  return {
    tableName: requireEnv('TABLE_NAME'),
    // Literal `process.env.HERALD_CATALOG`: esbuild replaces exactly this expression at bundle time,
    // with the catalog validateCatalog accepted at synth (nothing else can put one here), so it is
    // not validated again at every cold start: that took 3.5 KB of every bundle.
    catalog: jsonEnv('HERALD_CATALOG', process.env.HERALD_CATALOG) as Catalog,
    retryPolicy: validateRetryPolicy({ ...DEFAULT_RETRY_POLICY, ...retry }),
    maxPayloadBytes: numberEnv('MAX_PAYLOAD_BYTES', DEFAULT_MAX_PAYLOAD_BYTES),
    dueShards: numberEnv('DUE_SHARDS', 8),
    retentionMs: numberEnv('RETENTION_DAYS', 30) * 86_400_000,
  };
}

export { numberEnv };

/**
 * The event buffer's table for the notification store, where the stack has push (STREAMS_TABLE):
 * a route pushed at acceptance is published when its event is stored (core/route/effectiveStatus.ts).
 */
export function streamsTableOption(): { streamsTable?: string } {
  const table = process.env['STREAMS_TABLE'];
  return table ? { streamsTable: table } : {};
}

import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { withRequestAccounting } from './requestAccounting.ts';

/** A secret's string values: the current one and, after a rotation, the previous one. */
export interface SecretVersions {
  readonly current: string;
  readonly previous?: string;
}

let client: SecretsManagerClient | undefined;

/**
 * Reads a Secrets Manager secret's AWSCURRENT and AWSPREVIOUS string values (the labels a
 * rotation moves: docs.aws.amazon.com/secretsmanager/latest/userguide/whats-in-a-secret.html).
 * A secret never rotated has no AWSPREVIOUS version.
 */
export async function readSecretVersions(secretId: string): Promise<SecretVersions> {
  client ??= withRequestAccounting(new SecretsManagerClient({}), 'secretsmanager');
  const read = (VersionStage: string) => client!.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage }));
  const [current, previous] = await Promise.all([
    read('AWSCURRENT'),
    read('AWSPREVIOUS').catch((error: unknown) => {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }),
  ]);
  if (!current.SecretString) throw new Error(`secret ${secretId} has no string value`);
  return { current: current.SecretString, ...(previous?.SecretString ? { previous: previous.SecretString } : {}) };
}

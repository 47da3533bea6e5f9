import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { withRequestAccounting } from './requestAccounting.ts';

/** Reads a Secrets Manager secret's string value (once per cold start by the caller). */
export async function readSecret(secretId: string): Promise<string> {
  const client = withRequestAccounting(new SecretsManagerClient({}), 'secretsmanager');
  try {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (!SecretString) throw new Error(`secret ${secretId} has no string value`);
    return SecretString;
  } finally {
    client.destroy();
  }
}

/**
 * How your backend issues Herald connection tokens when the stack verifies them with its own
 * HS256 secret (the default; with `jwksUrl` your identity provider issues them instead). Copy it
 * into the service that signs your users in, and give that service's role
 * `secretsmanager:GetSecretValue` on the stack output `TokenSecretArn` — in CDK,
 * `herald.push.tokenSecret?.grantRead(yourFunction)`.
 *
 * Needs `jose` and `@aws-sdk/client-secrets-manager`. Kept here, typechecked, and run by
 * test/integration/push.test.ts against the offline stack, so this copy stays true.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SignJWT } from 'jose';

export type IssueConnectionToken = (userId: string, deviceSessionId: string, ttlSeconds?: number) => Promise<string>;

export function connectionTokenIssuer(tokenSecretArn: string, secrets = new SecretsManagerClient({})): IssueConnectionToken {
  // Read once per process, as Herald's authorizer does; a failed read is retried on the next call.
  let key: Promise<Uint8Array> | undefined;
  const readKey = async () => {
    const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: tokenSecretArn }));
    if (!SecretString) throw new Error(`secret ${tokenSecretArn} has no string value`);
    return new TextEncoder().encode(SecretString);
  };
  return async (userId, deviceSessionId, ttlSeconds = 900) => {
    key ??= readKey().catch((error: unknown) => {
      key = undefined;
      throw error;
    });
    // sub = the user whose stream the connection reads; sid = the device session (session.revoked
    // closes its connections); exp is required. A client's `token` callback runs before every
    // connect, so a short lifetime costs nothing.
    return new SignJWT({ sid: deviceSessionId })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(userId)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(await key);
  };
}

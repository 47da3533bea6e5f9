import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * Stands in for `@aws-sdk/credential-provider-node` in the function bundles (an esbuild alias,
 * lib/parts/HeraldFunction.ts): every SDK client's default credentials come from the environment
 * only. Lambda puts the execution role's credentials there (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN: docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime),
 * and so does the offline stack; the node chain's first provider is this one anyway. Leaving out
 * the rest (SSO, INI files, web identity, IMDS and the STS/SSO clients they bring) takes about
 * 100 KB out of every bundle.
 */
export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]) => fromEnv(init);

/**
 * Resolves the CloudFormation intrinsic functions CDK emits (Ref, Fn::GetAtt, Fn::Join, Fn::Sub,
 * Fn::Select, Fn::Split, pseudo parameters) against the local resources the offline stack created.
 */
export interface LocalResourceValues {
  /** Value of `Ref` for a logical id. */
  ref(logicalId: string): string | undefined;
  /** Value of `Fn::GetAtt` for a logical id and attribute. */
  getAtt(logicalId: string, attribute: string): string | undefined;
}

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';

const PSEUDO: Record<string, string> = {
  'AWS::AccountId': LOCAL_ACCOUNT,
  'AWS::Region': LOCAL_REGION,
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'Herald',
  'AWS::NoValue': '',
};

export class UnresolvableError extends Error {
  public constructor(what: string) {
    super(`cannot resolve ${what} locally`);
    this.name = 'UnresolvableError';
  }
}

export function resolveValue(value: unknown, resources: LocalResourceValues, stackName = 'Herald'): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveValue(v, resources, stackName));
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 1) {
    const [key] = keys as [string];
    const arg = record[key];
    switch (key) {
      case 'Ref': {
        const name = arg as string;
        if (name === 'AWS::StackName') return stackName;
        const resolved = PSEUDO[name] ?? resources.ref(name);
        if (resolved === undefined) throw new UnresolvableError(`Ref ${name}`);
        return resolved;
      }
      case 'Fn::GetAtt': {
        const [id, attribute] = (Array.isArray(arg) ? arg : String(arg).split('.')) as [string, string];
        const resolved = resources.getAtt(id, attribute);
        if (resolved === undefined) throw new UnresolvableError(`Fn::GetAtt ${id}.${attribute}`);
        return resolved;
      }
      case 'Fn::Join': {
        const [separator, parts] = arg as [string, unknown[]];
        return (resolveValue(parts, resources, stackName) as unknown[]).join(separator);
      }
      case 'Fn::Select': {
        const [index, list] = arg as [number | string, unknown];
        return (resolveValue(list, resources, stackName) as unknown[])[Number(index)];
      }
      case 'Fn::Split': {
        const [separator, source] = arg as [string, unknown];
        return String(resolveValue(source, resources, stackName)).split(separator);
      }
      case 'Fn::Sub': {
        const [text, vars] = (Array.isArray(arg) ? arg : [arg, {}]) as [string, Record<string, unknown>];
        return text.replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
          if (vars[name] !== undefined) return String(resolveValue(vars[name], resources, stackName));
          if (name.includes('.')) return String(resolveValue({ 'Fn::GetAtt': name.split('.') }, resources, stackName));
          return String(resolveValue({ Ref: name }, resources, stackName));
        });
      }
      default:
        break;
    }
  }
  return Object.fromEntries(keys.map((k) => [k, resolveValue(record[k], resources, stackName)]));
}

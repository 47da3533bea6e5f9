import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** One resource of a synthesized CloudFormation template. */
export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
}

export interface StackTemplate {
  readonly Resources: Record<string, TemplateResource>;
  readonly Outputs?: Record<string, { Value: unknown; Description?: string }>;
}

/** A synthesized stack: its template and the directory its assets live in. */
export interface SynthesizedStack {
  readonly stackName: string;
  readonly template: StackTemplate;
  readonly assemblyDir: string;
}

/** Reads the one stack of a cloud assembly (`cdk synth` output directory). */
export function readCloudAssembly(assemblyDir: string, stackName?: string): SynthesizedStack {
  const dir = resolve(assemblyDir);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; properties?: { templateFile?: string }; displayName?: string }>;
  };
  const stacks = Object.entries(manifest.artifacts).filter(([, a]) => a.type === 'aws:cloudformation:stack');
  const chosen = stackName === undefined ? stacks : stacks.filter(([name]) => name === stackName);
  if (chosen.length !== 1) {
    throw new Error(
      `expected exactly one stack${stackName ? ` named ${stackName}` : ''} in ${dir}, found: ${stacks.map(([n]) => n).join(', ') || 'none'}`,
    );
  }
  const [name, artifact] = chosen[0]!;
  const template = JSON.parse(readFileSync(join(dir, artifact.properties!.templateFile!), 'utf8')) as StackTemplate;
  return { stackName: name, template, assemblyDir: dir };
}

/** Logical ids of resources of one type, in template order. */
export function resourcesOfType(template: StackTemplate, type: string): [string, TemplateResource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

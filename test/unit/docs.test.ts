import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

// The README and docs/ are read by people who cannot see the code: these keep them true to it.
const readme = readFileSync('README.md', 'utf8');
const docs = readdirSync('docs').filter((f) => f.endsWith('.md') || f.endsWith('.yaml'));
const packageScripts = Object.keys((JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts);
/** The `herald` subcommands: the keys of the CLI's HELP table. */
const cliCommands = [...readFileSync('cli/main.ts', 'utf8').matchAll(/^ {2}(?:'([\w-]+)'|(\w+)): `herald /gm)].map((m) => m[1] ?? m[2]!).filter((c) => c !== 'main');

/** Relative links of a Markdown file, resolved from its folder (anchors dropped). */
function relativeLinks(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!)
    .filter((target) => !/^(https?:|mailto:|#)/.test(target))
    .map((target) => normalize(join(dirname(file), target.split('#')[0]!)));
}

/** Lines of the README's shell blocks. */
const shellLines = [...readme.matchAll(/```bash\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n')).map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean);

describe('README', () => {
  it('is short: at most 220 lines', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(220);
  });

  it('shows the two set-up commands in its first screen (40 lines)', () => {
    const firstScreen = readme.split('\n').slice(0, 40).join('\n');
    expect(firstScreen).toMatch(/^npm (ci|install)\b/m);
    expect(firstScreen).toMatch(/^npm start\b/m);
    expect(firstScreen).toMatch(/^npm test\b/m);
  });

  it('draws the architecture from source (Mermaid)', () => {
    expect(readme).toMatch(/```mermaid\nflowchart/);
    const diagram = /```mermaid\n([\s\S]*?)```/.exec(readme)![1]!;
    for (const part of ['intake queue', 'accept λ', 'route queue', 'deliver λ', 'sweeper λ', 'lifecycle λ', 'SES', 'WebSocket', 'dead-letter queues']) {
      expect(diagram).toContain(part);
    }
  });

  it('shows the same architecture picture as docs/architecture.md', () => {
    const diagram = (text: string) => /```mermaid\n([\s\S]*?)```/.exec(text)?.[1];
    expect(diagram(readFileSync('docs/architecture.md', 'utf8'))).toBe(diagram(readme));
  });

  it('runs only npm scripts that exist and herald commands the CLI has', () => {
    const scripts = shellLines.flatMap((l) => [...l.matchAll(/npm run (?:-s )?([\w:-]+)/g)].map((m) => m[1]!));
    const herald = shellLines.flatMap((l) => [...l.matchAll(/(?:npx herald|npm run herald --) ([\w-]+)/g)].map((m) => m[1]!));
    expect(scripts.length).toBeGreaterThan(0);
    expect(herald.length).toBeGreaterThan(0);
    expect(scripts.filter((s) => !packageScripts.includes(s))).toEqual([]);
    expect(herald.filter((c) => !cliCommands.includes(c))).toEqual([]);
    for (const file of shellLines.flatMap((l) => [...l.matchAll(/\b(examples\/[\w.-]+)/g)].map((m) => m[1]!))) expect(existsSync(file), file).toBe(true);
  });

  it('links only to files that exist', () => {
    expect(relativeLinks('README.md').filter((target) => !existsSync(target))).toEqual([]);
  });
});

describe('docs/', () => {
  it('has an index that lists every page with its purpose', () => {
    const index = readFileSync('docs/index.md', 'utf8');
    const listed = [...index.matchAll(/^\| \[([\w.-]+)\]\(\1\) \| [^|]+ \| ([^|]+) \|$/gm)];
    const pages = docs.filter((f) => f !== 'index.md');
    expect(pages.filter((page) => !listed.some((m) => m[1] === page))).toEqual([]);
    for (const [, , purpose] of listed) expect(purpose!.trim().length).toBeGreaterThan(20);
  });

  it('starts each Markdown page with who it is for', () => {
    const pages = docs.filter((f) => f.endsWith('.md') && f !== 'index.md');
    const missing = pages.filter((page) => !/^# .+\n\n(.|\n)*?\bFor\b/.test(readFileSync(join('docs', page), 'utf8').split('\n').slice(0, 6).join('\n')));
    expect(missing).toEqual([]);
  });

  it('links only to files that exist', () => {
    const broken = docs.filter((f) => f.endsWith('.md')).flatMap((page) => relativeLinks(join('docs', page)).filter((target) => !existsSync(target)).map((t) => `${page} → ${t}`));
    expect(broken).toEqual([]);
  });
});

describe('machine-readable documents in docs/', () => {
  it.each(['openapi.yaml', 'asyncapi.yaml'])('%s is valid YAML (a strict parser, as code generators use)', (file) => {
    expect(() => parseYaml(readFileSync(join('docs', file), 'utf8'), { strict: true, uniqueKeys: true })).not.toThrow();
  });
});

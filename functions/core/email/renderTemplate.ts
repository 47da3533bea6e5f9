import { wellFormed } from '../wellFormed.ts';
import type { EmailTemplate } from '../catalog/catalogTypes.ts';
import { HeraldError } from '../errors.ts';

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}/g;

/** The template field every unsubscribable email fills with its one-click unsubscribe link (not a payload field). */
export const UNSUBSCRIBE_URL_TEMPLATE_FIELD = 'unsubscribe_url';

/** A template refers to a payload field that is missing or not a scalar. */
export class TemplateRenderError extends HeraldError {
  public constructor(message: string) {
    super(message);
    this.name = 'TemplateRenderError';
  }
}

/** A rendered email, ready for SES. */
export interface RenderedEmail {
  readonly subject: string;
  readonly text: string;
  readonly html?: string;
}

/** Field paths a template string uses; throws on an unbalanced or malformed placeholder. */
export function templateFields(template: string): string[] {
  const fields = [...template.matchAll(PLACEHOLDER)].map((m) => m[1] as string);
  const leftover = template.replace(PLACEHOLDER, '');
  if (leftover.includes('{{') || leftover.includes('}}')) {
    throw new TemplateRenderError('malformed placeholder: use {{field}} or {{field.nested}}');
  }
  return fields;
}

/** Template fields the payload cannot fill (missing, or an object/array rather than a scalar). */
export function missingTemplateFields(template: EmailTemplate, payload: Record<string, unknown>): string[] {
  const all = [template.subject, template.text, template.html ?? ''].flatMap(templateFields);
  return [...new Set(all)].filter((path) => scalarAt(payload, path) === undefined);
}

/** Renders subject, text and HTML from the payload; HTML values are escaped. */
export function renderTemplate(template: EmailTemplate, payload: Record<string, unknown>): RenderedEmail {
  const fill = (source: string, escape: (value: string) => string): string =>
    source.replace(PLACEHOLDER, (_match, path: string) => {
      const value = scalarAt(payload, path);
      if (value === undefined) throw new TemplateRenderError(`payload field "${path}" is missing or not a scalar`);
      // A lone surrogate (from a \\ud800 escape in the intent) is not text SES can send: U+FFFD instead.
      return escape(wellFormed(value));
    });
  const subject = fill(template.subject, (v) => v.replace(/[\r\n]+/g, ' '));
  const text = fill(template.text, (v) => v);
  return template.html === undefined
    ? { subject, text }
    : { subject, text, html: fill(template.html, escapeHtml) };
}

export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function scalarAt(payload: Record<string, unknown>, path: string): string | undefined {
  let current: unknown = payload;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  if (typeof current === 'string') return current;
  if (typeof current === 'number' || typeof current === 'boolean') return String(current);
  return undefined;
}

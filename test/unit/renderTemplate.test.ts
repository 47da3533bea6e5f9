import { describe, expect, it } from 'vitest';
import { missingTemplateFields, renderTemplate, TemplateRenderError } from '../../functions/core/email/renderTemplate.ts';

describe('renderTemplate', () => {
  const template = { subject: 'Order {{order.id}}', text: 'Hi {{name}}, total {{order.total}}', html: '<p>Hi {{ name }}</p>' };

  it('fills placeholders from nested payload fields', () => {
    expect(renderTemplate(template, { name: 'Ada', order: { id: 7, total: 12.5 } })).toEqual({
      subject: 'Order 7', text: 'Hi Ada, total 12.5', html: '<p>Hi Ada</p>',
    });
  });

  it('HTML-escapes values in the HTML body only', () => {
    const rendered = renderTemplate(template, { name: `<script>alert("x")</script> & 'y'`, order: { id: 1, total: 1 } });
    expect(rendered.html).toBe('<p>Hi &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;</p>');
    expect(rendered.text).toContain('<script>');
  });

  it('keeps line breaks out of the subject (no header injection)', () => {
    expect(renderTemplate({ subject: 'Hi {{name}}', text: 't' }, { name: 'a\r\nBcc: x@evil' }).subject).toBe('Hi a Bcc: x@evil');
  });

  it('throws a TemplateRenderError for a missing or non-scalar field', () => {
    expect(() => renderTemplate(template, { name: 'Ada', order: {} })).toThrow(TemplateRenderError);
    expect(() => renderTemplate(template, { name: { first: 'Ada' }, order: { id: 1, total: 1 } })).toThrow('"name" is missing or not a scalar');
  });

  it('renders a lone surrogate as U+FFFD, which SES can send, and keeps whole pairs (emoji)', () => {
    const rendered = renderTemplate({ subject: '{{s}}', text: '{{s}}' }, { s: 'a\uD800b🚀' });
    expect(rendered).toEqual({ subject: 'a\uFFFDb🚀', text: 'a\uFFFDb🚀' });
  });

  it('fills only from the payload\'s own fields, never inherited ones', () => {
    expect(() => renderTemplate({ subject: '{{constructor.name}}', text: 'x' }, {})).toThrow(TemplateRenderError);
    expect(missingTemplateFields({ subject: '{{toString}}', text: 'x' }, {})).toEqual(['toString']);
  });

  it('lists the fields a payload cannot fill', () => {
    expect(missingTemplateFields(template, { name: 'Ada' })).toEqual(['order.id', 'order.total']);
  });
});

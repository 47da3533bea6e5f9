/**
 * The string with each lone surrogate (half of a UTF-16 pair without its other half) replaced by
 * U+FFFD: what UTF-8 can carry, so DynamoDB, SES and API Gateway take it as text.
 * (String.prototype.toWellFormed, for targets that predate it.)
 */
export function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

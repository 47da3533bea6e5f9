/**
 * JSON text as a message body SQS takes. SQS allows #x9, #xA, #xD, #x20–#xD7FF, #xE000–#xFFFD and
 * #x10000–#x10FFFF; JSON.stringify already escapes control characters and lone surrogates but
 * leaves the noncharacters U+FFFE and U+FFFF as they are, and SQS refuses the message
 * (`InvalidMessageContents`). They can only stand inside JSON strings, so they are written as
 * `\uXXXX` escapes: the same JSON value, parsed back unchanged.
 */
export function sqsSafeJson(json: string): string {
  return json.replace(/[\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

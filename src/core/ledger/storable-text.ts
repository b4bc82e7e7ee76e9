/**
 * Whether a string can be stored as text (and in jsonb) by PostgreSQL: no NUL character and no
 * half of a surrogate pair, neither of which UTF-8 text can hold. A transfer carrying one would
 * fail the database write of every transfer batched with it, so it is refused as bad input first.
 */
// eslint-disable-next-line no-control-regex
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const storableText = (s: string): boolean => !UNSTORABLE.test(s);

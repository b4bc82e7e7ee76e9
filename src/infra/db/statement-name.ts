import { createHash } from "node:crypto";

/**
 * A prepared statement's name derived from its text, for the `name` of SqlExecutor.query: each
 * connection parses and plans a hot statement once instead of on every call (a batched statement's
 * parse and plan cost the server as much CPU as running it). Same text, same name; different
 * texts never share one (node-postgres refuses a name reused for another text).
 */
export function statementName(sql: string): string {
  return `fg_${createHash("sha256").update(sql).digest("hex").slice(0, 24)}`;
}

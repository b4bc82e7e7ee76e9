/**
 * What the JSON APIs (admin, agent) accept before a route sees a request: JSON bodies and URLs
 * whose text PostgreSQL can store. A NUL character or half a surrogate pair passed every
 * route's schema and then failed in the database: a 500, and for a ledger write, every transfer
 * batched with it. Such a request is a 400 here, and body-parser's own refusals (an unsupported
 * charset or encoding, a body that does not inflate) keep their 4xx status instead of a 500.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from "express";
import { storableText } from "../core/ledger/storable-text.js";

const UNSTORABLE = "holds a NUL character or broken Unicode";
const DUPLICATE = "names a field twice";

/**
 * express.json, refusing (as a parse failure) any key or string value that cannot be stored, and
 * an object naming a key twice: JSON.parse keeps the last, so {"max":"100","max":"1000000"} would
 * set a limit other than the one a reviewer of the request reads first.
 */
export function jsonBody(limit: string): RequestHandler {
  return express.json({
    limit,
    verify: (_req, _res, buf) => {
      if (duplicateKey(buf.toString("utf8")) !== null) throw Object.assign(new SyntaxError(DUPLICATE), { status: 400, type: "entity.parse.failed" });
    },
    reviver: (key: string, value: unknown) => {
      if (!storableText(key) || (typeof value === "string" && !storableText(value))) throw new SyntaxError(UNSTORABLE);
      return value;
    },
  });
}

/**
 * The first key an object of this JSON text names twice, or null. A scan of the text as it stands
 * (JSON.parse reads it afterwards and refuses what is not JSON): strings are skipped whole, and a
 * string is a key where an object expects one, after "{" or after a "," inside an object.
 */
export function duplicateKey(text: string): string | null {
  const objects: (Set<string> | null)[] = []; // one entry per open object (its keys) or array (null)
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      const keys = objects.at(-1);
      if (keys && expectKey) {
        const key = parsedString(text.slice(i, end + 1));
        if (key !== null && keys.has(key)) return key;
        if (key !== null) keys.add(key);
        expectKey = false;
      }
      i = end;
    } else if (c === "{" || c === "[") {
      objects.push(c === "{" ? new Set() : null);
      expectKey = c === "{";
    } else if (c === "}" || c === "]") {
      objects.pop();
      expectKey = false;
    } else if (c === ",") {
      expectKey = objects.at(-1) instanceof Set;
    }
  }
  return null;
}

function parsedString(literal: string): string | null {
  try {
    return JSON.parse(literal) as string;
  } catch {
    return null;
  }
}

/** A request refused before any route: where, and why. */
export interface RequestFault {
  status: number;
  path: "body" | "url";
  message: string;
}

/**
 * body-parser's refusal, or the router's refusal of a path parameter, as the answer it deserves;
 * null for any other error (a 500).
 */
export function bodyFault(error: unknown, limit: string): RequestFault | null {
  const e = error as { type?: unknown; status?: unknown; expose?: unknown; message?: unknown } | null;
  // The router percent-decodes a path parameter while matching routes, before any authentication:
  // /admin/v1/institutions/%E0 threw a URIError (status 400, not marked to expose) that reached the
  // handler as an internal error, a 500 logged with its stack. The URL is the caller's fault.
  if (error instanceof URIError && e?.status === 400) return { status: 400, path: "url", message: "holds a malformed percent-encoding" };
  if (e?.type === "entity.parse.failed") return { status: 400, path: "body", message: e.message === UNSTORABLE || e.message === DUPLICATE ? e.message : "is not valid JSON" };
  if (e?.type === "entity.too.large") return { status: 413, path: "body", message: `at most ${limit}` };
  const status = typeof e?.status === "number" ? e.status : 0;
  if (status >= 400 && status < 500 && e?.expose === true) return { status, path: "body", message: typeof e.message === "string" ? e.message : "cannot be read" };
  return null;
}

/**
 * Middleware: a URL with a NUL in it (%00, in the path or the query) goes on as a RequestFault.
 * Percent-decoding cannot yield half a surrogate pair (invalid UTF-8 is not decoded), so a NUL is
 * the one character to look for.
 */
export function storableRequest(req: Request, _res: Response, next: NextFunction): void {
  next(/%00/i.test(req.originalUrl) ? fault("url") : undefined);
}

function fault(path: RequestFault["path"]): RequestFault & { requestFault: true } {
  return { requestFault: true, status: 400, path, message: UNSTORABLE };
}

export const isRequestFault = (error: unknown): error is RequestFault => (error as { requestFault?: unknown } | null)?.requestFault === true;

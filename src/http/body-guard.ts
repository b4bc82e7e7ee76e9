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

/** express.json, refusing (as a parse failure) any key or string value that cannot be stored. */
export function jsonBody(limit: string): RequestHandler {
  return express.json({
    limit,
    reviver: (key: string, value: unknown) => {
      if (!storableText(key) || (typeof value === "string" && !storableText(value))) throw new SyntaxError(UNSTORABLE);
      return value;
    },
  });
}

/** A request refused before any route: where, and why. */
export interface RequestFault {
  status: number;
  path: "body" | "url";
  message: string;
}

/** body-parser's refusal as the answer it deserves; null for any other error (a 500). */
export function bodyFault(error: unknown, limit: string): RequestFault | null {
  const e = error as { type?: unknown; status?: unknown; expose?: unknown; message?: unknown } | null;
  if (e?.type === "entity.parse.failed") return { status: 400, path: "body", message: e.message === UNSTORABLE ? UNSTORABLE : "is not valid JSON" };
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

/**
 * The form body of an aggregator's hop (Africa's Talking), read without body-parser: a hop is a
 * few hundred bytes of `application/x-www-form-urlencoded`, and body-parser's general machinery
 * (charset negotiation, qs, content-type parsing) was a visible share of every hop's CPU.
 * Same contract as express.urlencoded here: over `limitBytes` → 413 unread further, more than
 * `maxFields` fields or a field given twice → 400, another content type → no body (the dialect answers 400).
 */
import type { IncomingMessage } from "node:http";
import type { NextFunction, Request, Response } from "express";

export function formBody(limitBytes: number, maxFields: number) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!isForm(req)) {
      req.body = {};
      return next();
    }
    const declared = Number(req.headers["content-length"]);
    if (declared > limitBytes) return tooLarge(req, res);
    readBody(req, limitBytes, (text) => {
      if (text === "too-large") return tooLarge(req, res);
      const fields = text === "failed" ? null : parseForm(text, maxFields);
      if (!fields) return void res.status(400).type("text/plain").send("END bad request");
      req.body = fields;
      next();
    });
  };
}

export function isForm(req: IncomingMessage): boolean {
  const type = req.headers["content-type"];
  return typeof type === "string" && type.toLowerCase().startsWith("application/x-www-form-urlencoded");
}

/** The whole body as UTF-8, once: "too-large" as soon as it passes limitBytes, "failed" if the request breaks off. */
export function readBody(req: IncomingMessage, limitBytes: number, done: (text: string | "too-large" | "failed") => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on("data", (chunk: Buffer) => {
    if (over) return;
    size += chunk.length;
    if (size > limitBytes) {
      over = true;
      return done("too-large");
    }
    chunks.push(chunk);
  });
  req.on("end", () => {
    if (over) return;
    over = true;
    done((chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString("utf8"));
  });
  req.on("error", () => {
    if (!over) done("failed");
    over = true;
  });
}

function tooLarge(req: Request, res: Response): void {
  res.status(413).set("connection", "close").type("text/plain").send("END request too large");
  req.resume();
}

/**
 * Each field's value; null past maxFields, or when a field comes twice: which of two phoneNumber
 * (or sessionId, text) values is meant cannot be told, so the form is malformed (it used to keep
 * the first, silently).
 */
export function parseForm(text: string, maxFields: number): Record<string, string> | null {
  const params = new URLSearchParams(text);
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  let count = 0;
  for (const [key, value] of params) {
    if (++count > maxFields || key in out) return null;
    out[key] = value;
  }
  return out;
}

/**
 * The form body of an aggregator's hop (Africa's Talking), read without body-parser: a hop is a
 * few hundred bytes of `application/x-www-form-urlencoded`, and body-parser's general machinery
 * (charset negotiation, qs, content-type parsing) was a visible share of every hop's CPU.
 * Same contract as express.urlencoded here: over `limitBytes` → 413 unread further, more than
 * `maxFields` fields → 400, another content type → no body (the dialect answers 400).
 */
import type { NextFunction, Request, Response } from "express";

export function formBody(limitBytes: number, maxFields: number) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const type = req.headers["content-type"];
    if (typeof type !== "string" || !type.toLowerCase().startsWith("application/x-www-form-urlencoded")) {
      req.body = {};
      return next();
    }
    const declared = Number(req.headers["content-length"]);
    if (declared > limitBytes) return tooLarge(req, res);
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limitBytes) {
        done = true;
        return tooLarge(req, res);
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (done) return;
      done = true;
      const fields = parse(Buffer.concat(chunks).toString("utf8"), maxFields);
      if (!fields) return void res.status(400).type("text/plain").send("END bad request");
      req.body = fields;
      next();
    });
    req.on("error", () => {
      if (!done) res.status(400).type("text/plain").send("END bad request");
      done = true;
    });
  };
}

function tooLarge(req: Request, res: Response): void {
  res.status(413).set("connection", "close").type("text/plain").send("END request too large");
  req.resume();
}

/** First value of each field, as express.urlencoded({ extended: false }) gives; null past maxFields. */
function parse(text: string, maxFields: number): Record<string, string> | null {
  const params = new URLSearchParams(text);
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  let count = 0;
  for (const [key, value] of params) {
    if (++count > maxFields) return null;
    if (!(key in out)) out[key] = value;
  }
  return out;
}

import type { Response } from "express";

/** JSON with bigint as decimal strings: money leaves as "150000", never as a lossy number. */
export function toJson(body: unknown): string {
  return JSON.stringify(body, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value));
}

export function sendJson(res: Response, status: number, body: unknown): void {
  res.status(status).type("application/json").send(toJson(body));
}

/**
 * Africa's Talking USSD: a form POST with sessionId, serviceCode, phoneNumber, networkCode and
 * text (every input so far joined by `*`); the reply is text/plain starting "CON " (continue) or
 * "END ". Its events callback reports the session's end with status, cost and duration.
 */
import type { Request, Response } from "express";
import { msisdnOf, serviceCodeOf, sessionIdOf, textOf } from "./fields.js";
import type { HopLogger, HopProcessor } from "./hop.js";

export const AT_MAX_TEXT_CHARS = 1_024;

/** MCC+MNC, e.g. "63902"; anything else is dropped rather than trusted. */
function networkCodeOf(value: unknown): string | undefined {
  return typeof value === "string" && /^[0-9]{5,6}$/.test(value) ? value : undefined;
}

export function africasTalkingHop(name: string, hops: HopProcessor) {
  return async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const sessionId = sessionIdOf(body.sessionId);
    const msisdn = msisdnOf(body.phoneNumber);
    const serviceCode = serviceCodeOf(body.serviceCode);
    const text = textOf(body.text, AT_MAX_TEXT_CHARS);
    if (!sessionId || !msisdn || !serviceCode || text === null) {
      res.status(400).type("text/plain").send("END bad request");
      return;
    }
    const networkCode = networkCodeOf(body.networkCode);
    const reply = await hops.handle({ aggregator: name, sessionId, msisdn, serviceCode, mode: "cumulative", text, hopKey: text, networkCode });
    // Plain end(), not send(): a USSD reply needs no ETag or freshness check (a measurable share of a hop).
    res.setHeader("content-type", "text/plain; charset=utf-8");
    res.end(`${reply.end ? "END" : "CON"} ${reply.text}`);
  };
}

/** The end-of-session notification: forget the session and log what the telco reports. */
export function africasTalkingEvents(name: string, hops: HopProcessor, logger: HopLogger) {
  return async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const sessionId = sessionIdOf(body.sessionId);
    if (!sessionId) {
      res.status(400).type("text/plain").send("bad request");
      return;
    }
    // "Success" ends with our END (already metered); anything else means the user left or timed out.
    const status = typeof body.status === "string" ? body.status : "";
    await hops.endSession(name, sessionId, /timeout|expired/i.test(status) ? "timeout" : "abort");
    // `input` and `lastAppResponse` may hold a PIN or a balance: they are never logged.
    logger.info(
      {
        aggregator: name,
        session: sessionId,
        status: typeof body.status === "string" ? body.status.slice(0, 32) : undefined,
        cost: typeof body.cost === "string" ? body.cost.slice(0, 32) : undefined,
        durationMs: Number(body.durationInMillis) || undefined,
        hops: Number(body.hopsCount) || undefined,
      },
      "ussd session ended",
    );
    res.type("text/plain").send("OK");
  };
}

/**
 * Africa's Talking USSD: a form POST with sessionId, serviceCode, phoneNumber, networkCode and
 * text (every input so far joined by `*`); the reply is text/plain starting "CON " (continue) or
 * "END ". Its events callback reports the session's end with status, cost and duration.
 */
import type { Request, Response } from "express";
import { msisdnOf, networkCodeOf, serviceCodeOf, servesCode, sessionIdOf, textOf } from "./fields.js";
import type { EndOptions, HopProcessor } from "./hop.js";
import type { HopLogger } from "./hop-types.js";
import type { DialectOptions } from "./hubtel.js";

export const AT_MAX_TEXT_CHARS = 1_024;
/** A hop's form is a few hundred bytes and five fields; anything far larger is refused unread. */
export const AT_FORM_LIMITS = { bytes: 8 * 1024, fields: 32 } as const;

/**
 * What a hop's form fields get: 200 with "CON …" or "END …", or 400 when a field is missing or
 * malformed, or the service code is not the aggregator's configured one (another service's traffic,
 * as on Hubtel and generic: fields.ts servesCode). networkCode is optional (absent or empty: the
 * aggregator's own bills the session), but one given must be an MCC+MNC: a malformed one (before
 * 2026-11-30 dropped in silence) says the payload is not what Africa's Talking sends.
 */
export async function africasTalkingAnswer(
  name: string,
  hops: HopProcessor,
  body: Record<string, unknown>,
  options: Pick<DialectOptions, "serviceCode"> = {},
): Promise<{ status: 200 | 400; text: string }> {
  const sessionId = sessionIdOf(body.sessionId);
  const msisdn = msisdnOf(body.phoneNumber);
  const serviceCode = serviceCodeOf(body.serviceCode);
  const text = textOf(body.text, AT_MAX_TEXT_CHARS);
  const networkGiven = body.networkCode !== undefined && body.networkCode !== "";
  const networkCode = networkGiven ? networkCodeOf(body.networkCode) : undefined;
  if (!sessionId || !msisdn || !serviceCode || !servesCode(serviceCode, options.serviceCode) || text === null || (networkGiven && networkCode === undefined)) {
    return BAD_REQUEST;
  }
  const reply = await hops.handle({ aggregator: name, sessionId, msisdn, serviceCode, mode: "cumulative", text, hopKey: text, networkCode });
  return { status: 200, text: `${reply.end ? "END" : "CON"} ${reply.text}` };
}

const BAD_REQUEST = { status: 400, text: "END bad request" } as const;

export function africasTalkingHop(name: string, hops: HopProcessor, options: Pick<DialectOptions, "serviceCode"> = {}) {
  return async (req: Request, res: Response) => {
    const answer = await africasTalkingAnswer(name, hops, (req.body ?? {}) as Record<string, unknown>, options);
    if (answer.status !== 200) {
      res.status(answer.status).type("text/plain").send(answer.text);
      return;
    }
    // Plain end(), not send(): a USSD reply needs no ETag or freshness check (a measurable share of a hop).
    res.setHeader("content-type", "text/plain; charset=utf-8");
    res.end(answer.text);
  };
}

/**
 * How a session ended, from the notification's status: "Success" is our END (metered when its hop
 * stored it; here only if that store failed); "Incomplete" (the caller left, or the network gave
 * up, on a screen awaiting input) and "Failed" (our answer did not come in time or was refused)
 * are aborts, unless the status names a timeout.
 */
export function endReasonOf(status: string): "end" | "abort" | "timeout" {
  if (/^success$/i.test(status.trim())) return "end";
  return /timeout|expired/i.test(status) ? "timeout" : "abort";
}

/**
 * The session as the notice reports it when it had a single hop (`hopsCount` 1) of our service,
 * for the number it names: should no record of it be found, that hop ended in our error END
 * before it read the store, and it is metered from this (EndOptions.lone). A shortcut dial's first
 * hop (text "1" for *384*1#) cannot be told at the hop from a lost session's continuation; the
 * notice's hop count tells it. Anything else (more hops, no count, another service's code): undefined.
 */
function loneSessionOf(body: Record<string, unknown>, options: Pick<DialectOptions, "serviceCode">): EndOptions["lone"] {
  if (body.hopsCount !== "1" && body.hopsCount !== 1) return undefined;
  const msisdn = msisdnOf(body.phoneNumber);
  const serviceCode = body.serviceCode === undefined ? undefined : serviceCodeOf(body.serviceCode);
  if (!msisdn || serviceCode === null || (serviceCode !== undefined && !servesCode(serviceCode, options.serviceCode))) return undefined;
  const durationMs = Number(body.durationInMillis);
  const startedAtMs = Date.now() - (Number.isSafeInteger(durationMs) && durationMs > 0 ? durationMs : 0);
  const networkCode = body.networkCode === undefined || body.networkCode === "" ? undefined : networkCodeOf(body.networkCode);
  return { msisdn, startedAtMs, ...(networkCode ? { networkCode } : {}) };
}

/** The end-of-session notification: forget the session and log what the telco reports. */
export function africasTalkingEvents(name: string, hops: HopProcessor, logger: HopLogger, options: Pick<DialectOptions, "serviceCode"> = {}) {
  return async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const sessionId = sessionIdOf(body.sessionId);
    if (!sessionId) {
      res.status(400).type("text/plain").send("bad request");
      return;
    }
    const status = typeof body.status === "string" ? body.status : "";
    // Its session ids are never handed out again: the record is kept closed, so a hop of the
    // session delivered after this notice is not taken for an unknown session and metered again.
    await hops.endSession(name, sessionId, endReasonOf(status), undefined, { keepClosed: true, lone: loneSessionOf(body, options) });
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

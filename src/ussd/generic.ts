/**
 * The generic JSON dialect, for aggregators without a module of their own (docs/ussd.md).
 *
 * Request (POST, application/json):
 *   { "sessionId": "abc-123",          1–128 of [A-Za-z0-9_.:-]
 *     "msisdn": "+254712345678",        E.164 (the plus may be left out)
 *     "serviceCode": "*384#",
 *     "event": "begin" | "continue" | "end",
 *     "seq": 0,                         hop number, 0 for begin; a repeated seq is a retry,
 *                                       a lower one (late) runs nothing and gets the current screen
 *     "input": "1",                     this hop's input only ("" on begin)
 *     "dialString": "*384*1#",          optional, on begin: the full string dialled; what follows
 *                                       the service code's own segments is a shortcut
 *     "networkCode": "63902" }          optional: the caller's network (MCC+MNC), whose tariff
 *                                       bills the session (else the aggregator's networkCode)
 * An optional field absent, null or "" is none; given, it must read as one (else 400).
 * Response: { "sessionId", "seq", "action": "continue" | "end", "message": "…" }
 * "end" (the network closed the session) answers { "sessionId", "action": "end", "message": "" }.
 */
import type { Request, Response } from "express";
import { shortcutOf } from "../menus/index.js";
import { msisdnOf, networkCodeOf, serviceCodeOf, servesCode, sessionIdOf, textOf } from "./fields.js";
import type { HopProcessor } from "./hop.js";
import type { DialectOptions } from "./hubtel.js";

const MAX_INPUT_CHARS = 182;
const MAX_SEQ = 1_000;

export function genericHop(name: string, hops: HopProcessor, options: DialectOptions = {}) {
  return async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const sessionId = sessionIdOf(body.sessionId);
    const event = body.event;
    if (!sessionId || (event !== "begin" && event !== "continue" && event !== "end")) {
      res.status(400).json({ error: "bad request" });
      return;
    }
    if (event === "end") {
      // The ended record is kept closed until it lapses: a hop of the session delivered after this
      // end hears that it ended and is not metered as a session of its own (a second charge). The
      // id may come back: a begin under it opens a new session all the same (HopRequest.reusesIds).
      await hops.endSession(name, sessionId, "abort", undefined, { keepClosed: true });
      res.json({ sessionId, action: "end", message: "" });
      return;
    }
    const msisdn = msisdnOf(body.msisdn);
    const serviceCode = serviceCodeOf(body.serviceCode);
    const input = textOf(body.input, MAX_INPUT_CHARS);
    const seq = typeof body.seq === "number" && Number.isInteger(body.seq) && body.seq >= 0 && body.seq <= MAX_SEQ ? body.seq : null;
    const dial = optional(body.dialString, (v) => (typeof v === "string" && /^[*#0-9]{1,64}$/.test(v) ? v : undefined));
    // JSON lets an integrator send the MCC+MNC as a number (63902): read as its digits (an MCC never starts with 0).
    const networkCode = optional(body.networkCode, (v) => networkCodeOf(typeof v === "number" && Number.isSafeInteger(v) ? String(v) : v));
    if (!msisdn || !serviceCode || !servesCode(serviceCode, options.serviceCode) || input === null || seq === null || dial === null || networkCode === null) {
      res.status(400).json({ error: "bad request" });
      return;
    }
    const reply = await hops.handle({
      aggregator: name,
      sessionId,
      msisdn,
      serviceCode,
      mode: "single",
      text: event === "begin" ? "" : input,
      hopKey: `seq:${seq}`,
      seq,
      // Only a begin opens a session: a continue for a session unknown here is refused as expired,
      // and a begin that failed before it read the store is metered as a session of its own.
      opens: event === "begin",
      // Its ids are the integrator's own and come back: a begin on a closed session is a new session.
      reusesIds: true,
      networkCode,
      shortcut: event === "begin" && dial !== undefined ? shortcutOf(dial, options.serviceCode ?? serviceCode) : [],
    });
    res.json({ sessionId, seq, action: reply.end ? "end" : "continue", message: reply.text });
  };
}

/**
 * An optional field: absent, null or "" is none (undefined); given, it must read as one, else null
 * (refused). Before 2026-11-30 a networkCode or dialString that did not read was dropped: the
 * session was billed under the aggregator's network, or the dial's shortcut was ignored.
 */
function optional<T>(value: unknown, read: (value: unknown) => T | undefined): T | undefined | null {
  if (value === undefined || value === null || value === "") return undefined;
  return read(value) ?? null;
}

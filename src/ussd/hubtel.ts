/**
 * Hubtel USSD: JSON with Type Initiation / Response / Release / Timeout, Mobile, SessionId,
 * ServiceCode, Message (the dial string on Initiation, the input afterwards) and Sequence. The
 * reply is JSON with Type "response" (continue) or "release" (end) and the screen in Message.
 */
import type { Request, Response } from "express";
import { msisdnOf, serviceCodeOf, sessionIdOf, shortcutOf, textOf } from "./fields.js";
import type { HopProcessor } from "./hop.js";

const MAX_MESSAGE_CHARS = 182;

export function hubtelHop(name: string, hops: HopProcessor) {
  return async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const type = typeof body.Type === "string" ? body.Type.toLowerCase() : "";
    const sessionId = sessionIdOf(body.SessionId);
    if (!sessionId || !["initiation", "response", "release", "timeout"].includes(type)) {
      res.status(400).json({ error: "bad request" });
      return;
    }
    if (type === "release" || type === "timeout") {
      await hops.endSession(name, sessionId, type === "timeout" ? "timeout" : "abort");
      res.json({ SessionId: sessionId, Type: "release", Message: "", Label: "", DataType: "display", FieldType: "text" });
      return;
    }
    const msisdn = msisdnOf(body.Mobile);
    const message = textOf(body.Message, MAX_MESSAGE_CHARS);
    const serviceCode = serviceCodeOf(typeof body.ServiceCode === "string" && !body.ServiceCode.startsWith("*") ? `*${body.ServiceCode}#` : body.ServiceCode);
    const sequence = typeof body.Sequence === "number" && Number.isInteger(body.Sequence) && body.Sequence >= 0 ? body.Sequence : null;
    if (!msisdn || message === null || !serviceCode) {
      res.status(400).json({ error: "bad request" });
      return;
    }
    const initiation = type === "initiation";
    const reply = await hops.handle({
      aggregator: name,
      sessionId,
      msisdn,
      serviceCode,
      mode: "single",
      text: initiation ? "" : message,
      // Without a sequence number a retry cannot be told from a new hop with the same input.
      hopKey: sequence !== null ? `seq:${sequence}` : `${initiation ? "init" : "msg"}:${message}:${Date.now()}`,
      shortcut: initiation && /^[*#0-9]+$/.test(message) ? shortcutOf(message) : [],
    });
    res.json({
      SessionId: sessionId,
      Type: reply.end ? "release" : "response",
      Message: reply.text,
      Label: "fingate",
      DataType: reply.end ? "display" : "input",
      FieldType: "text",
    });
  };
}

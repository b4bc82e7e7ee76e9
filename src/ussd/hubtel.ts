/**
 * Hubtel USSD: JSON with Type Initiation / Response / Release / Timeout, Mobile ("233244…", or in
 * local format "0244…"), SessionId, ServiceCode (the code dialled, or on Programmable Services the
 * service's id, checked against the link's serviceId), Message (the dial
 * string on Initiation, the input afterwards), Operator (the caller's network: "mtn", "vodafone",
 * "airtel", "tigo", also as "mtn-gh" …) and Sequence (a number, or a string of digits). The reply is
 * JSON with Type "response" (continue) or "release" (end) and the screen in Message.
 *
 * Retries: a hop is identified by its Sequence. Without one, by the ClientState Hubtel hands back
 * from our previous reply: every reply carries a ClientState derived from the hop it answers, so
 * a retried request (same ClientState) gets the stored reply, with the same ClientState, while the
 * next hop (a new ClientState) runs, even when the user types the same input twice. An Initiation
 * is the session's first hop whatever. A Sequence below the last answered one (a late retry of an
 * older hop) runs nothing and gets the current screen.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Request, Response } from "express";
import { shortcutOf } from "../menus/index.js";
import { localNumberOf, msisdnOf, networkCodeOf, serviceCodeOf, servesCode, sessionIdOf, textOf } from "./fields.js";
import type { HopProcessor } from "./hop.js";

const MAX_MESSAGE_CHARS = 182;
const MAX_CLIENT_STATE_CHARS = 64;
// A Programmable Services id: letters and digits, at least one letter (a run of digits is a short code).
const SERVICE_ID_RE = /^(?=[0-9]*[A-Za-z])[A-Za-z0-9]{1,64}$/;

/** Whether a string has the shape of a Programmable Services id (router.ts checks a configured one with it). */
export function isServiceId(value: unknown): value is string {
  return typeof value === "string" && SERVICE_ID_RE.test(value);
}

/** What an aggregator's configuration tells the dialect (router.ts AggregatorConfig). */
export interface DialectOptions {
  /** The short code as dialled, extension included ("*711*2#"): overrides the one each request names. */
  serviceCode?: string;
  /** Hubtel: the Programmable Services id of this link's service; a request naming another id is refused. */
  serviceId?: string;
  /**
   * Hubtel: a caller's number in national format ("0241…") in E.164, read with the institution's
   * default country, or null when it reads as none; absent, such a number is refused.
   */
  localMsisdn?: (national: string) => Promise<string | null>;
  /** Hubtel: its Operator names (lower case) to MCC+MNC; absent, HUBTEL_OPERATOR_NETWORKS. */
  operatorNetworks?: Readonly<Record<string, string>>;
}

/**
 * Ghana's networks as Hubtel names them in Operator, and their MCC+MNC: the session is billed under
 * its caller's network's tariff. A name not here (or none) leaves the aggregator's networkCode.
 */
export const HUBTEL_OPERATOR_NETWORKS: Readonly<Record<string, string>> = {
  mtn: "62001",
  vodafone: "62002",
  telecel: "62002",
  tigo: "62003",
  // AirtelTigo, the merged brand, runs on Tigo's network code.
  airteltigo: "62003",
  airtel: "62006",
  glo: "62007",
};

/**
 * The caller's network (MCC+MNC) from Hubtel's Operator; undefined when it names none known. Hubtel
 * also spells them with the country ("mtn-gh", "vodafone-gh": its SDK's list of USSD operators),
 * read as the bare name unless the map names the suffixed one itself (before 2026-11-30 such a
 * session was billed under the aggregator's networkCode, or not at all).
 */
export function operatorNetwork(operator: unknown, networks: Readonly<Record<string, string>>): string | undefined {
  if (typeof operator !== "string") return undefined;
  const name = operator.trim().toLowerCase();
  const known = [name, name.replace(/-gh$/, "")].find((n) => Object.hasOwn(networks, n));
  return known === undefined ? undefined : networkCodeOf(networks[known]);
}

export function hubtelHop(name: string, hops: HopProcessor, options: DialectOptions = {}) {
  const serviceId = options.serviceId?.toLowerCase();
  return async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const type = typeof body.Type === "string" ? body.Type.toLowerCase() : "";
    const sessionId = sessionIdOf(body.SessionId);
    if (!sessionId || !["initiation", "response", "release", "timeout"].includes(type)) {
      res.status(400).json({ error: "bad request" });
      return;
    }
    if (type === "release" || type === "timeout") {
      // Hubtel's session ids are never handed out again (a GUID per session): the record is kept
      // closed, so a hop of the session delivered after this (reordered, retried) hears that it
      // ended instead of being taken for a lost session's continuation and metered once more.
      await hops.endSession(name, sessionId, type === "timeout" ? "timeout" : "abort", undefined, { keepClosed: true });
      res.json({ SessionId: sessionId, Type: "release", Message: "", Label: "", DataType: "display", FieldType: "text" });
      return;
    }
    const message = textOf(body.Message, MAX_MESSAGE_CHARS);
    const code = hubtelServiceCode(body.ServiceCode, options.serviceCode, serviceId);
    const sequence = sequenceOf(body.Sequence);
    // A local number costs a look-up of the institution's country (cached): only once all else reads.
    const msisdn = message !== null && code && sequence !== undefined ? (msisdnOf(body.Mobile) ?? (await localMsisdn(body.Mobile, options))) : null;
    if (!msisdn || message === null || !code || sequence === undefined) {
      res.status(400).json({ error: "bad request" });
      return;
    }
    const initiation = type === "initiation";
    const clientState = typeof body.ClientState === "string" ? body.ClientState.slice(0, MAX_CLIENT_STATE_CHARS) : "";
    const hopKey = hubtelHopKey(initiation, sequence, clientState, message);
    const reply = await hops.handle({
      aggregator: name,
      sessionId,
      msisdn,
      serviceCode: code.serviceCode,
      mode: "single",
      text: initiation ? "" : message,
      hopKey,
      seq: sequence ?? undefined,
      opens: initiation,
      networkCode: operatorNetwork(body.Operator, options.operatorNetworks ?? HUBTEL_OPERATOR_NETWORKS),
      shortcut: initiation && code.dialBase && /^[*#0-9]+$/.test(message) ? shortcutOf(message, code.dialBase) : [],
    });
    res.json({
      SessionId: sessionId,
      Type: reply.end ? "release" : "response",
      Message: reply.text,
      Label: "fingate",
      DataType: reply.end ? "display" : "input",
      FieldType: "text",
      // Handed back on the next request: what tells a retry from the next hop without a Sequence.
      ClientState: createHash("sha256").update(sessionId).update("\u0000").update(hopKey).digest("base64url").slice(0, 12),
    });
  };
}

/**
 * The caller's number from a Mobile in national format ("0241310001": Hubtel sends "233…" as a
 * rule, and the local form too), read with the institution's default country; null when it is
 * none or reads as none (refused before 2026-11-30 whatever it was).
 */
async function localMsisdn(mobile: unknown, options: DialectOptions): Promise<string | null> {
  const national = localNumberOf(mobile);
  return national !== null && options.localMsisdn ? options.localMsisdn(national) : null;
}

/**
 * The request's service code, and the code a dial's shortcut follows (dialBase), or null when it
 * names another service's code or none. ServiceCode is the code dialled ("711*2", "*711*2#") or,
 * on Programmable Services, the service's id ("7c920dc49b7a40588c657119ce599044", its SDK's sample
 * USSD request), with the dial in Message. An id is checked against the link's configured
 * serviceId, without case (ids are GUIDs), as a code is against its serviceCode; with none
 * configured, any is taken (before 2026-11-30 an id was never checked: another service's traffic
 * reaching this URL got this bank's menu). A link configured with its id and no code takes no
 * short code (there is none to check it against: any was served until review found it). The
 * configured code is the dial's base; without one a dial's extension cannot be told from a
 * shortcut, and none is read.
 */
function hubtelServiceCode(value: unknown, configured: string | undefined, serviceId: string | undefined): { serviceCode: string; dialBase?: string } | null {
  if (isServiceId(value)) {
    if (serviceId !== undefined && value.toLowerCase() !== serviceId) return null;
    return { serviceCode: configured ?? value, dialBase: configured };
  }
  if (serviceId !== undefined && configured === undefined) return null;
  const code = serviceCodeOf(typeof value === "string" && !value.startsWith("*") ? `*${value}#` : value);
  return code && servesCode(code, configured) ? { serviceCode: code, dialBase: configured ?? code } : null;
}

/**
 * The hop's number: Hubtel documents Sequence as an integer, and its own sample request sends it as
 * a string ("Sequence":"1"), which .NET's binder reads as the number; both are read here (a string
 * was ignored before 2026-11-30, so a late older hop carrying its first ClientState ran again: a
 * PIN tried twice). Absent, null or empty: none (null). Anything else is no hop number: undefined.
 */
function sequenceOf(value: unknown): number | null | undefined {
  if (value === undefined || value === null || value === "") return null;
  const n = typeof value === "string" && /^[0-9]{1,9}$/.test(value) ? Number(value) : value;
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function hubtelHopKey(initiation: boolean, sequence: number | null, clientState: string, message: string): string {
  if (sequence !== null) return `seq:${sequence}`;
  if (initiation) return "init";
  if (clientState) return `state:${clientState}`;
  // Neither: a retry cannot be told from a new hop with the same input, so every hop runs.
  return `msg:${message}:${Date.now()}:${randomBytes(6).toString("base64url")}`;
}

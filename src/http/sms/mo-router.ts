/**
 * MO SMS delivered over HTTP by aggregators (Africa's Talking style): a form or JSON POST with
 * from, to, text, date, id and linkId to /sms/<name>/mo, authenticated per aggregator by a
 * shared secret in a header (like the USSD dialects) and optionally an IP allow-list. It feeds
 * the same command handler as SMPP; the aggregator's message id identifies a re-delivery, and a
 * SEND is also recognised by its content (SmsCommands keys it with the SMPP digest's key), so the
 * same SEND under two ids pays once within the SEND window. The POST is answered as soon as the
 * message is recorded; the command runs after.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import type { IncomingSms } from "../../sms/commands/handler.js";
import type { MoClaim } from "../../sms/commands/mo-log.js";
import { parseJsonVariable } from "../../config.js";
import { isUuid } from "../../core/ledger/ids.js";
import { loggedPath } from "../logged-path.js";
import { msisdnFromAddress } from "../../sms/server/inbound-pdu.js";

export interface SmsAggregatorConfig {
  /** URL segment, e.g. "at" → POST /sms/at/mo. */
  name: string;
  secret: string;
  /** Header carrying the secret (default x-fingate-secret). */
  header?: string;
  ipAllowList?: string[];
  /** The bank whose customers write to this aggregator's short codes. */
  institutionId: string;
  /**
   * Our short codes / numbers customers text through this aggregator. A reply comes from the one
   * the message names in `to` when it is listed; otherwise (or without the list) from the route's
   * own sender, so the aggregator cannot choose the sender ID our links send from.
   */
  shortCodes?: string[];
}

/** SmsCommands: record first (then the message is durable and may be acknowledged), run after. */
export interface MoCommandHandler {
  receive(sms: IncomingSms): Promise<MoClaim | null>;
  run(sms: IncomingSms, claim: MoClaim): Promise<void>;
}

export interface SmsMoRouterDeps {
  aggregators: SmsAggregatorConfig[];
  commands: MoCommandHandler;
  logger: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

const NAME_RE = /^[a-z0-9-]{1,32}$/;
const MIN_SECRET_CHARS = 16;
const BODY_LIMIT = "8kb";
const MAX_TEXT_CHARS = 1_600;
/** A short code, a number or an alphanumeric sender ID, as an SMSC takes it in source_addr. */
const SHORT_CODE_RE = /^\+?[0-9A-Za-z]{1,20}$/;
/** The aggregator's id for one message: a re-delivery repeats it, so it is recognised for a day. */
const REDELIVERY_WINDOW_SEC = 86_400;

function secretMatches(given: unknown, expected: string): boolean {
  if (typeof given !== "string" || given.length === 0 || given.length > 512) return false;
  return timingSafeEqual(createHash("sha256").update(given).digest(), createHash("sha256").update(expected).digest());
}

const normalizeIp = (ip: string | undefined) => (ip?.startsWith("::ffff:") && isIP(ip.slice(7)) === 4 ? ip.slice(7) : (ip ?? ""));

function authenticate(a: SmsAggregatorConfig) {
  const header = (a.header ?? "x-fingate-secret").toLowerCase();
  const allow = new Set((a.ipAllowList ?? []).map(normalizeIp));
  return (req: Request, res: Response, next: NextFunction) => {
    if (allow.size > 0 && !allow.has(normalizeIp(req.socket.remoteAddress))) return void res.status(403).type("text/plain").send("forbidden");
    if (!secretMatches(req.get(header), a.secret)) return void res.status(401).type("text/plain").send("unauthorized");
    next();
  };
}

const field = (body: Record<string, unknown>, name: string, max: number): string | null => {
  const v = body[name];
  return typeof v === "string" && v.length <= max ? v : null;
};

/**
 * The message of a POST, or what is wrong with it: the aggregator's logs then say which field to
 * fix (one answer for every fault said "from, id and text are required" to a text that was there
 * but too long).
 */
function incoming(a: SmsAggregatorConfig, body: Record<string, unknown>): IncomingSms | string {
  const from = field(body, "from", 32);
  const id = field(body, "id", 128);
  const text = field(body, "text", MAX_TEXT_CHARS);
  const to = ourAddress(a, field(body, "to", 32));
  const msisdn = from ? msisdnFromAddress(from.trim()) : null;
  if (!msisdn) return "from must be the sender's number in international form, as a string";
  if (!id || id.trim() === "") return "id must be the aggregator's message id, a string of 1 to 128 characters";
  if (text === null) return `text must be a string of at most ${MAX_TEXT_CHARS} characters`;
  return {
    linkId: `http-${a.name}`,
    institutionId: a.institutionId,
    // The id together with its sender: aggregators that number messages per connection, or restart
    // their counters, give two subscribers' messages one id, and the second was taken for a
    // re-delivery of the first (dropped, or run under the first's id).
    moKey: `id:${msisdn}:${id.trim()}`,
    msisdn,
    to,
    text,
    dedupeWindowSec: REDELIVERY_WINDOW_SEC,
  };
}

/**
 * The `to` of the body when it is one of the aggregator's configured short codes, else null. It
 * becomes the reply's sender: taken as given, an aggregator could make our SMPP links send from any
 * sender ID it liked (another brand's, a bank's security team's), to any number.
 */
function ourAddress(a: SmsAggregatorConfig, to: string | null): string | null {
  const trimmed = to?.trim() ?? "";
  return trimmed !== "" && (a.shortCodes ?? []).includes(trimmed) ? trimmed : null;
}

export function smsMoRouter(deps: SmsMoRouterDeps): Router {
  const router = express.Router();
  const names = new Set<string>();
  for (const a of deps.aggregators) {
    if (!NAME_RE.test(a.name) || names.has(a.name)) throw new Error(`bad or duplicate SMS aggregator name: ${a.name}`);
    if (a.secret.length < MIN_SECRET_CHARS) throw new Error(`the SMS aggregator secret of ${a.name} must have at least ${MIN_SECRET_CHARS} characters`);
    if (a.shortCodes !== undefined && (!Array.isArray(a.shortCodes) || !a.shortCodes.every((c) => typeof c === "string" && SHORT_CODE_RE.test(c)))) {
      throw new Error(`the SMS aggregator shortCodes of ${a.name} must be a list of short codes or numbers`);
    }
    names.add(a.name);
    const parsers = [express.urlencoded({ extended: false, limit: BODY_LIMIT, parameterLimit: 16 }), express.json({ limit: BODY_LIMIT })];
    router.post(`/sms/${a.name}/mo`, authenticate(a), ...parsers, async (req: Request, res: Response) => {
      const sms = incoming(a, (req.body ?? {}) as Record<string, unknown>);
      if (typeof sms === "string") return void res.status(400).type("text/plain").send(`bad request: ${sms}`);
      // Acknowledged once recorded, before it runs: an aggregator that waited for a PIN check and
      // a payment could time out and deliver the message again. The reply goes out as an MT SMS.
      const claim = await deps.commands.receive(sms);
      res.type("text/plain").send("OK");
      if (claim) void deps.commands.run(sms, claim);
    });
  }
  router.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = error as { type?: string; status?: number; name?: string };
    if (e?.type === "entity.too.large") return void res.status(413).type("text/plain").send("request too large");
    if (e?.type === "entity.parse.failed" || e?.type === "parameters.too.many" || e?.status === 400) return void res.status(400).type("text/plain").send("bad request");
    // Never the body: it may hold a PIN.
    deps.logger.error({ err: { name: e?.name ?? "unknown" }, path: loggedPath(req.path) }, "sms mo request failed");
    res.status(500).type("text/plain").send("error");
  });
  return router;
}

/**
 * FINGATE_SMS_AGGREGATORS: a JSON array of { name, secret, institutionId, header?, ipAllowList?, shortCodes? }.
 * Checked again by smsMoRouter (names, secret length).
 */
export function smsAggregatorsFromEnv(env: NodeJS.ProcessEnv): SmsAggregatorConfig[] {
  const raw = env.FINGATE_SMS_AGGREGATORS?.trim();
  if (!raw) return [];
  const parsed = parseJsonVariable("FINGATE_SMS_AGGREGATORS", raw);
  if (!Array.isArray(parsed)) throw new Error("FINGATE_SMS_AGGREGATORS must be a JSON array");
  for (const a of parsed as SmsAggregatorConfig[]) {
    if (typeof a?.name !== "string" || typeof a.secret !== "string" || typeof a.institutionId !== "string") {
      throw new Error("each FINGATE_SMS_AGGREGATORS entry needs name, secret and institutionId");
    }
    // Not a UUID, it names no institution: every sender was then answered as a customer the bank
    // does not know, with nothing said at start. Refused here, as FINGATE_USSD_INSTITUTION_ID is.
    if (!isUuid(a.institutionId)) throw new Error(`FINGATE_SMS_AGGREGATORS: the institutionId of ${a.name} must be the institution's id (a lower-case UUID)`);
  }
  return parsed as SmsAggregatorConfig[];
}

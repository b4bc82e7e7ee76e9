/**
 * ussdRouter(deps): the USSD endpoints, one per configured aggregator, each behind its own
 * authentication. Mount it on the app: `app.use(ussdRouter(deps))`.
 *
 *   POST /ussd/<name>[/<secret>]          a hop (dialect per aggregator)
 *   POST /ussd/<name>[/<secret>]/events   Africa's Talking end-of-session notification
 */
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { loggedPath } from "../http/logged-path.js";
import { africasTalkingEvents, africasTalkingHop, AT_FORM_LIMITS } from "./africastalking.js";
import { authenticate, type AggregatorAuth } from "./auth.js";
import { networkCodeOf, serviceCodeOf } from "./fields.js";
import { formBody } from "./form-body.js";
import { genericHop } from "./generic.js";
import type { HopProcessor } from "./hop.js";
import type { HopLogger } from "./hop-types.js";
import { hubtelHop, isServiceId } from "./hubtel.js";

export const DIALECTS = ["africastalking", "hubtel", "generic"] as const;
export type UssdDialect = (typeof DIALECTS)[number];

export interface AggregatorConfig extends AggregatorAuth {
  /** URL segment and session key space, e.g. "at". */
  name: string;
  dialect: UssdDialect;
  /**
   * MCC+MNC of the network whose tariff bills this aggregator's sessions when a request names none
   * (a Hubtel Operator not in operatorNetworks; the generic dialect's networkCode is optional).
   * Without either, a session cannot be billed (and is logged as such).
   */
  networkCode?: string;
  /** Hubtel: its Operator names to MCC+MNC, replacing HUBTEL_OPERATOR_NETWORKS (Ghana's). */
  operatorNetworks?: Record<string, string>;
  /**
   * The short code as dialled, extension included ("*711*2#"), when the requests' own service code
   * leaves the extension out. Hubtel and generic: a dial's segments after it are a shortcut
   * (Africa's Talking sends those as `text`). On every dialect a request for another code is
   * refused (fields.ts servesCode; Africa's Talking's since 2026-11-30).
   */
  serviceCode?: string;
  /**
   * Hubtel: the Programmable Services id of the bank's service ("b230733c…"), which Hubtel may send
   * as ServiceCode instead of the code dialled; a request naming another id is refused. Without
   * one, an id is not checked (it cannot be).
   */
  serviceId?: string;
}

export interface UssdRouterDeps {
  hops: HopProcessor;
  aggregators: AggregatorConfig[];
  logger: HopLogger;
  /** A caller's number in national format in E.164, with the institution's country (DialectOptions.localMsisdn). */
  localMsisdn?: (national: string) => Promise<string | null>;
}

// A hop's body is a few hundred bytes; anything far larger is refused unread.
const BODY_LIMIT = "8kb";
const NAME_RE = /^[a-z0-9-]{1,32}$/;
// A session's store key begins with its aggregator's name; these begin the store's other keys
// (a session's lock, a subscriber's resume point, the Redis store's expiry index), which an
// aggregator so named could collide with: "index" with session id "smpp-" is the index's own key.
const RESERVED_NAMES: ReadonlySet<string> = new Set(["lock", "resume", "index"]);
// USSD over SMPP's sessions are those of aggregators "smpp-<link id>" in the same store (see
// USSD_INDEXED_PREFIXES in gateway.ts): an HTTP aggregator so named would share their keys.
const RESERVED_PREFIX = "smpp-";

export function ussdRouter(deps: UssdRouterDeps): Router {
  const router = express.Router();
  const names = new Set<string>();
  for (const aggregator of deps.aggregators) {
    if (!NAME_RE.test(aggregator.name) || names.has(aggregator.name) || RESERVED_NAMES.has(aggregator.name) || aggregator.name.startsWith(RESERVED_PREFIX)) {
      throw new Error(`bad, reserved or duplicate aggregator name: ${aggregator.name}`);
    }
    names.add(aggregator.name);
    // From a JSON environment variable: a misspelt dialect would otherwise be served as the generic one.
    if (!DIALECTS.includes(aggregator.dialect)) throw new Error(`aggregator ${aggregator.name}: dialect must be one of ${DIALECTS.join(", ")}`);
    if (aggregator.secretIn !== undefined && aggregator.secretIn !== "header" && aggregator.secretIn !== "path") {
      throw new Error(`aggregator ${aggregator.name}: secretIn must be "header" or "path"`);
    }
    if (aggregator.networkCode !== undefined && networkCodeOf(aggregator.networkCode) === undefined) {
      throw new Error(`aggregator ${aggregator.name}: networkCode must be an MCC+MNC of 5 or 6 digits`);
    }
    const operators = Object.entries(aggregator.operatorNetworks ?? {});
    if (operators.some(([name, code]) => name !== name.toLowerCase() || networkCodeOf(code) === undefined)) {
      throw new Error(`aggregator ${aggregator.name}: operatorNetworks must map lower-case operator names to an MCC+MNC of 5 or 6 digits`);
    }
    if (aggregator.serviceCode !== undefined && serviceCodeOf(aggregator.serviceCode) === null) {
      throw new Error(`aggregator ${aggregator.name}: serviceCode must be a short code such as *384# or *711*2#`);
    }
    if (aggregator.serviceId !== undefined && (aggregator.dialect !== "hubtel" || !isServiceId(aggregator.serviceId))) {
      throw new Error(`aggregator ${aggregator.name}: serviceId is Hubtel's, a Programmable Services id of letters and digits (at least one letter)`);
    }
    const base = aggregator.secretIn === "path" ? `/ussd/${aggregator.name}/:secret` : `/ussd/${aggregator.name}`;
    const auth = authenticate(aggregator);
    if (aggregator.dialect === "africastalking") {
      const form = formBody(AT_FORM_LIMITS.bytes, AT_FORM_LIMITS.fields);
      router.post(`${base}/events`, auth, form, africasTalkingEvents(aggregator.name, deps.hops, deps.logger, { serviceCode: aggregator.serviceCode }));
      router.post(base, auth, form, africasTalkingHop(aggregator.name, deps.hops, { serviceCode: aggregator.serviceCode }));
    } else {
      const json = express.json({ limit: BODY_LIMIT, strict: true });
      router.post(base, auth, json, dialectHop(aggregator, deps), jsonBodyErrors);
    }
  }
  router.use(channelErrors(deps.logger));
  return router;
}

function dialectHop(aggregator: AggregatorConfig, deps: UssdRouterDeps) {
  const options = { serviceCode: aggregator.serviceCode, operatorNetworks: aggregator.operatorNetworks };
  if (aggregator.dialect !== "hubtel") return genericHop(aggregator.name, deps.hops, options);
  return hubtelHop(aggregator.name, deps.hops, { ...options, serviceId: aggregator.serviceId, localMsisdn: deps.localMsisdn });
}

/**
 * The JSON dialects' answer to a body the parser refused with a 4xx (malformed, an unsupported
 * charset or content encoding, a broken-off request): that status with the dialect's usual
 * bad-request body. Oversized bodies (413) and everything else go on to channelErrors.
 */
function jsonBodyErrors(error: unknown, _req: Request, res: Response, next: NextFunction): void {
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status === "number" && status >= 400 && status < 500 && status !== 413) {
    res.status(status).json({ error: "bad request" });
    return;
  }
  next(error);
}

/**
 * Oversized bodies get a plain 413, malformed ones a 400, any other refusal of the request with a
 * 4xx status keeps it (all with "END bad request"); anything else (a store down while ending a
 * session) is a logged 500. Nothing from the request body is logged: it may hold a PIN.
 */
function channelErrors(logger: HopLogger) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const e = error as { type?: string; status?: number };
    if (e?.type === "entity.too.large") {
      res.status(413).type("text/plain").send("END request too large");
      return;
    }
    if (e?.type === "entity.parse.failed" || e?.type === "parameters.too.many") {
      res.status(400).type("text/plain").send("END bad request");
      return;
    }
    if (typeof e?.status === "number" && e.status >= 400 && e.status < 500) {
      res.status(e.status).type("text/plain").send("END bad request");
      return;
    }
    res.status(500).type("text/plain").send(failure(error, req.path, logger));
  };
}

/** Logs a request that failed inside the channel (without its body or the path's secret) and says what the caller gets. */
export function failure(error: unknown, path: string, logger: HopLogger): string {
  const e = error as { name?: string };
  logger.error({ err: { name: e?.name ?? "unknown" }, path: loggedPath(path) }, "ussd request failed");
  return "END Service unavailable";
}


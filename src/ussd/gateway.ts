/**
 * Builds the USSD channel over the core services for the composition root (src/main.ts):
 *
 *   const ussd = await buildUssdGateway({ services, ledger, logger, redisUrl: config.redisUrl });
 *   // mount ussd.router before the app's 404 handler; await ussd.close() on shutdown
 *
 * Environment (all optional; without an aggregator secret the channel is off):
 *   FINGATE_USSD_INSTITUTION_ID   institution (UUID) whose customers the short code serves
 *   FINGATE_USSD_AT_SECRET        shared secret for Africa's Talking at POST /ussd/at (header x-fingate-secret)
 *   FINGATE_USSD_AGGREGATORS      JSON array of AggregatorConfig, instead of or besides the above
 *   FINGATE_USSD_SECRET_KEY       64 hex characters shared by all instances (seals PINs between steps, keys
 *                                 retry digests); src/main.ts passes it (or the data directory's); built
 *                                 without one (tests), a random key per process
 *   FINGATE_USSD_LANGUAGE         language for unknown numbers (en, sw, fr, hi), overriding the institution's
 *                                 default language (admin API), which is re-read every minute
 *   REDIS_URL                     sessions in Redis (else in memory, one instance only)
 */
import { createHash, randomBytes } from "node:crypto";
import { hexKey32 } from "../infra/auth/instance-key.js";
import { parseJsonVariable } from "../config.js";
import type { PinService } from "../core/auth/pin-service.js";
import type { SimSwapGuard } from "../core/auth/sim-swap.js";
import type { Directory } from "../core/directory/directory.js";
import { isUuid } from "../core/ledger/ids.js";
import type { Ledger } from "../core/ledger/ledger.js";
import type { Payments } from "../core/payments/payments.js";
import { RedisSessionStore } from "../infra/redis/session-store.js";
import { coreMenuPorts, type AgentsCore } from "../menus/adapters/index.js";
import { MemorySessionStore, type SessionStore } from "../menus/engine/session-store.js";
import { MENU_LANGUAGES, type Language } from "../menus/index.js";
import { createUssdChannel, type UssdChannel } from "./channel.js";
import { startChargeSweep, type ChargeSweep, type ChargeSweepOptions } from "./charge-sweep.js";
import { warnStageCaps } from "./stage-caps.js";
import type { EndedUssdSession, HopLimits, HopLogger } from "./hop-types.js";
import type { InstitutionStore } from "../core/institutions/ports.js";
import type { SessionMeter } from "../core/tariffs/metering.js";
import type { TariffStore } from "../core/tariffs/ports.js";
import type { AggregatorConfig } from "./router.js";

export interface UssdGatewayDeps {
  /** The core services (src/services.ts buildServices). Without payments, a zero-fee stand-in is used. */
  services: {
    directory: Directory;
    pins: PinService;
    simSwap: SimSwapGuard;
    payments?: Pick<Payments, "quoteP2P" | "sendP2P">;
    /** The agents core: the agent menu for agents' numbers, cash withdrawal and cash-out approval for customers. */
    agents?: AgentsCore;
    /** The tariff plans, whose stage caps are checked against the menus at the start (warnStageCaps). */
    tariffs?: Pick<TariffStore, "listPlans">;
    /** With postUnposted and the sweep mark's two methods, the gateway also posts charges left unposted (startChargeSweep). */
    sessionMeter?: Pick<SessionMeter, "meter"> & Partial<Pick<SessionMeter, "postUnposted" | "sweepMark" | "saveSweepMark">>;
    /**
     * Where the institution's default language and time zone are read; without it, English unless
     * FINGATE_USSD_LANGUAGE says otherwise, and dates in UTC.
     */
    institutions?: Pick<InstitutionStore, "get">;
  };
  ledger: Ledger;
  logger: HopLogger;
  redisUrl?: string;
  env?: NodeJS.ProcessEnv;
  /** Overrides of the environment (tests). */
  sessions?: SessionStore;
  institutionId?: string;
  aggregators?: AggregatorConfig[];
  secretKey?: Uint8Array;
  hopLimits?: Partial<HopLimits>;
  /** How often the institution's default language is re-read (default one minute). */
  languageRefreshMs?: number;
  /** Build the channel even without an HTTP aggregator: USSD over SMPP (src/sms) drives its hops. */
  alwaysOn?: boolean;
  /** The sweep of session charges left unposted (src/ussd/charge-sweep.ts); defaults there. */
  chargeSweep?: ChargeSweepOptions;
}

export interface UssdGateway extends UssdChannel {
  /** Posts session charges left unposted (its timer runs from the start; null without a meter that can). */
  chargeSweep: ChargeSweep | null;
  close(): Promise<void>;
}

/**
 * Where an institution's USSD sessions live in Redis. Aggregators' session ids are theirs, not
 * unique across the institutions that may share one Redis, so each institution has its own keys;
 * and an instance scanning for SMPP sessions left open finds only its own institution's.
 */
export const ussdKeyPrefix = (institutionId: string): string => `fingate:ussd:${institutionId.toLowerCase()}:`;

/**
 * The session keys the Redis store indexes by expiry: USSD over SMPP's (`smpp-<link id>:...`,
 * SMPP_KEY_PREFIX in src/sms/ussd/ussd-over-smpp.ts; channels do not import each other), which
 * its rescan looks for every 15 s. Every instance indexes them, SMPP links or not, so that any
 * instance's rescan finds what any other left.
 */
export const USSD_INDEXED_PREFIXES: readonly string[] = ["smpp-"];

/** null when no aggregator is configured (the channel is off). */
export async function buildUssdGateway(deps: UssdGatewayDeps): Promise<UssdGateway | null> {
  const env = deps.env ?? process.env;
  const aggregators = deps.aggregators ?? aggregatorsFromEnv(env);
  if (aggregators.length === 0 && !deps.alwaysOn) return null;
  const institutionId = deps.institutionId ?? env.FINGATE_USSD_INSTITUTION_ID?.trim();
  if (!institutionId || !isUuid(institutionId)) throw new Error("FINGATE_USSD_INSTITUTION_ID must name the institution (a UUID) the USSD channel serves");
  const sessions =
    deps.sessions ?? (deps.redisUrl ? await RedisSessionStore.connect(deps.redisUrl, { prefix: ussdKeyPrefix(institutionId), indexedPrefixes: USSD_INDEXED_PREFIXES }) : new MemorySessionStore());
  const configured = configuredLanguage(env);
  const institutions = configured ? undefined : deps.services.institutions;
  // Its time zone never changes (only the language can, through the admin API): read once.
  const institution = await deps.services.institutions?.get(institutionId);
  const channel = createUssdChannel({
    ports: coreMenuPorts({ ...deps.services, ledger: deps.ledger }),
    institutionId,
    timeZone: institution?.timezone,
    defaultLanguage: configured ?? institution?.language ?? "en",
    sessions,
    secretKey: deps.secretKey ?? secretKeyFromEnv(env),
    aggregators,
    logger: deps.logger,
    hopLimits: deps.hopLimits,
    onSessionEnd: deps.services.sessionMeter ? meterSessions(deps.services.sessionMeter, institutionId, deps.logger, aggregatorNetworks(aggregators)) : undefined,
    localMsisdn: localMsisdnOf(deps.services.directory, institutionId),
  });
  const stopFollowing = institutions ? followInstitutionLanguage(institutions, institutionId, channel, deps.logger, deps.languageRefreshMs) : () => {};
  // A telco's plan stricter than the menus' longest flows: said at the start (not refused: the plan is the telco's).
  await warnOfPlansStricterThanMenus(deps.services.tariffs, deps.logger);
  const meter = deps.services.sessionMeter;
  const chargeSweep =
    meter?.postUnposted && meter.sweepMark && meter.saveSweepMark
      ? startChargeSweep(
          { postUnposted: meter.postUnposted.bind(meter), sweepMark: meter.sweepMark.bind(meter), saveSweepMark: meter.saveSweepMark.bind(meter) },
          institutionId,
          deps.logger,
          deps.chargeSweep,
        )
      : null;
  return {
    ...channel,
    chargeSweep,
    close: async () => {
      stopFollowing();
      // Before the ledger closes (after this): a sweep under way finishes first.
      await chargeSweep?.stop();
      // Hops answered but still writing their session, and ended sessions being metered, go first:
      // the store (and, after this, the ledger) must not close under them.
      await channel.hops.drain();
      await sessions.close();
    },
  };
}

/**
 * Reads the telcos' plans and logs each flow longer than a plan in force allows (warnStageCaps);
 * a failed read is logged too, never thrown: the gateway starts either way. (Not the core's
 * checkStageCaps, the pure comparison it ends in.)
 */
async function warnOfPlansStricterThanMenus(tariffs: Pick<TariffStore, "listPlans"> | undefined, logger: HopLogger): Promise<void> {
  if (!tariffs) return;
  try {
    warnStageCaps(await tariffs.listPlans(), logger);
  } catch (error) {
    logger.warn({ err: error instanceof Error ? error.message.slice(0, 200) : "unknown" }, "tariff plans' stage caps not checked");
  }
}

function configuredLanguage(env: NodeJS.ProcessEnv): Language | null {
  const value = env.FINGATE_USSD_LANGUAGE?.trim();
  if (!value) return null;
  if (!(MENU_LANGUAGES as readonly string[]).includes(value)) throw new Error(`FINGATE_USSD_LANGUAGE must be en, sw, fr or hi, got "${value}"`);
  return value as Language;
}

const LANGUAGE_REFRESH_MS = 60_000;

/** A bank that changes its default language through the admin API sees it on every instance within a minute. */
function followInstitutionLanguage(
  institutions: Pick<InstitutionStore, "get">,
  institutionId: string,
  channel: UssdChannel,
  logger: HopLogger,
  everyMs = LANGUAGE_REFRESH_MS,
): () => void {
  const timer = setInterval(() => {
    institutions
      .get(institutionId)
      .then((institution) => institution && channel.setDefaultLanguage(institution.language))
      .catch((error: unknown) => logger.warn({ err: error instanceof Error ? error.message : String(error) }, "institution language not refreshed"));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * A caller's number written nationally, read as the directory reads one with the institution's
 * default country (its profile cached with the other services' reads); null when it reads as none.
 */
function localMsisdnOf(directory: Pick<Directory, "normalizeMsisdn">, institutionId: string) {
  return async (national: string): Promise<string | null> => {
    const read = await directory.normalizeMsisdn(national, institutionId);
    return read.ok ? read.value : null;
  };
}

/** USSD over SMPP names its sessions' aggregator "smpp-<link id>" (USSD_INDEXED_PREFIXES): the telco is the one owning that link. */
const SMPP_AGGREGATOR = /^smpp-(.+)$/;

/** Each aggregator's own network, for sessions whose requests name none (a Hubtel Operator not mapped, generic without one). */
function aggregatorNetworks(aggregators: AggregatorConfig[]): ReadonlyMap<string, string> {
  return new Map(aggregators.flatMap((a) => (a.networkCode ? [[a.name, a.networkCode] as const] : [])));
}

/**
 * Feeds finished sessions to the tariff meter. The telco is the session's network, else the SMPP
 * link's owner, else the aggregator's configured network; a session with none is logged, not billed.
 */
function meterSessions(meter: Pick<SessionMeter, "meter">, institutionId: string, logger: HopLogger, networks: ReadonlyMap<string, string>) {
  return async (s: EndedUssdSession) => {
    const smppLinkId = SMPP_AGGREGATOR.exec(s.aggregator)?.[1];
    const networkCode = s.networkCode ?? networks.get(s.aggregator);
    const telco = networkCode ? { networkCode } : smppLinkId ? { smppLinkId } : null;
    if (!telco) {
      logger.warn({ aggregator: s.aggregator, session: s.sessionId }, "ussd session not metered: no network known (set the aggregator's networkCode)");
      return;
    }
    const result = await meter.meter({
      sessionId: meteredSessionId(s),
      telco,
      institutionId,
      msisdn: s.msisdn,
      customerAccountId: s.customer?.walletAccountId ?? null,
      stages: s.stages,
      startedAt: s.startedAt,
      endedAt: s.endedAt,
      endReason: s.endReason,
    });
    if (!result.ok) logger.warn({ session: s.sessionId, code: result.code }, "ussd session not metered");
    // A plan in a currency the bank does not hold: recorded for the telco's invoice, but configured wrong.
    else if (result.session.chargeResult === "currency_mismatch") logger.warn({ session: s.sessionId, telco: result.session.telcoId }, "ussd session recorded, its charge not posted: the telco's plan is in another currency");
  };
}

/** The metered sessions' session_id holds at most this many characters (its CHECK). */
const MAX_METERED_ID = 128;

/**
 * A session's key in the metering (with the institution, its idempotency key): the aggregator's
 * session id and the session's start. Networks hand session ids out again: an SMPP session number
 * (0–255) comes back for the same subscriber before long, and an HTTP aggregator's ids are its own
 * (the generic dialect's any string). Keyed by the id alone, a later session under a reused id was
 * taken for the first's duplicate and never charged. An id too long to fit with its start (the
 * generic dialect allows 128 characters) is named by its digest instead.
 */
export function meteredSessionId(s: Pick<EndedUssdSession, "aggregator" | "sessionId" | "startedAt">): string {
  const started = `@${s.startedAt.getTime()}`;
  const plain = `${s.aggregator}:${s.sessionId}${started}`;
  if (plain.length <= MAX_METERED_ID) return plain;
  return `${s.aggregator}:#${createHash("sha256").update(s.sessionId).digest("base64url")}${started}`;
}

function aggregatorsFromEnv(env: NodeJS.ProcessEnv): AggregatorConfig[] {
  const list: AggregatorConfig[] = [];
  const raw = env.FINGATE_USSD_AGGREGATORS?.trim();
  if (raw) {
    const parsed = parseJsonVariable("FINGATE_USSD_AGGREGATORS", raw);
    if (!Array.isArray(parsed)) throw new Error("FINGATE_USSD_AGGREGATORS must be a JSON array");
    list.push(...(parsed as AggregatorConfig[]));
  }
  const at = env.FINGATE_USSD_AT_SECRET?.trim();
  if (at && !list.some((a) => a.name === "at")) list.push({ name: "at", dialect: "africastalking", secret: at });
  return list;
}

function secretKeyFromEnv(env: NodeJS.ProcessEnv): Uint8Array {
  const hex = env.FINGATE_USSD_SECRET_KEY?.trim();
  return hex ? hexKey32("FINGATE_USSD_SECRET_KEY")(hex) : randomBytes(32);
}

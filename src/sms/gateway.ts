/**
 * Builds the SMS channel's inbound side for the composition root (src/main.ts): the link manager
 * (client links, the listener telcos bind to, the link directory), the SMS command handler, USSD
 * over SMPP and the link admin service.
 *
 *   const sms = await buildSmsGateway({ db, services, ledger, logger, redisUrl, ussdHops: ussd?.hops });
 *   // admin: adminRouter({ …, smsLinks: sms.admin }); HTTP MO: smsMoRouter({ commands: sms.commands, … })
 *
 * Environment (all optional):
 *   FINGATE_SMPP_LISTEN      1 (true, yes, on): listen for telcos binding to us (server-mode links); off by default
 *   FINGATE_SMPP_PORT        the listener's port (default 2775)
 *   FINGATE_SMPP_HOST        the listener's address (default 0.0.0.0)
 *   FINGATE_SMS_SECRET_KEY   64 hex characters, the same on every instance: seals client links'
 *                            passwords and stored parts of concatenated MO messages, and keys MO
 *                            digests; src/main.ts passes it (or the data directory's); built
 *                            without one (tests), a random key per process
 *   REDIS_URL                per-number MO rate limit in Redis (else in memory)
 */
import { createHmac, randomBytes } from "node:crypto";
import { hexKey32 } from "../infra/auth/instance-key.js";
import { Redis } from "ioredis";
import type { PinService } from "../core/auth/pin-service.js";
import type { Directory } from "../core/directory/directory.js";
import type { InstitutionStore } from "../core/institutions/ports.js";
import type { Ledger } from "../core/ledger/ledger.js";
import type { Payments } from "../core/payments/payments.js";
import type { SqlDb } from "../infra/db/sql.js";
import type { Language } from "../menus/index.js";
import { SmsCommands } from "./commands/handler.js";
import { SqlMoLog } from "./commands/mo-log.js";
import { MAX_MO_PARTS, MoPartSealer, SqlMoParts } from "./commands/mo-parts.js";
import { SqlOptOuts } from "./commands/opt-outs.js";
import { PendingMoSealer, type PendingMoRecovery } from "./commands/mo-pending.js";
import type { IncomingSms } from "./commands/mo-claims.js";
import { DEFAULT_MO_RATE_LIMIT, FallbackRateLimiter, MemoryRateLimiter, RedisRateLimiter, type RateLimit, type RateLimiter } from "./commands/rate-limit.js";
import { OutboxReplies } from "./commands/outbox-replies.js";
import type { Replies } from "./commands/replies.js";
import { loadVocabulary } from "./commands/vocabulary.js";
import { InboundDispatcher } from "./links/inbound.js";
import { SmsLinkAdmin } from "./links/link-admin.js";
import { SmsLinkManager, type LinkManagerLogger } from "./links/link-manager.js";
import { SqlLinkStore } from "./links/link-store.js";
import { LinkPasswordSealer } from "./links/secrets.js";
import type { SmppClientOptions } from "./smpp-client-config.js";
import { UssdOverSmpp, type UssdHops } from "./ussd/ussd-over-smpp.js";

export interface SmsGatewayDeps {
  db: SqlDb;
  /** With institutions, statements date payments in the institution's time zone (else UTC). */
  services: { directory: Directory; pins: PinService; payments: Pick<Payments, "sendP2P">; institutions?: Pick<InstitutionStore, "get"> };
  ledger: Ledger;
  logger: LinkManagerLogger;
  redisUrl?: string;
  env?: NodeJS.ProcessEnv;
  /** src/ussd's hop processor (HopProcessor meets the port); without it USSD over SMPP answers "unavailable". */
  ussdHops?: UssdHops | null;
  /**
   * Where command replies go; default: outbox rows (OutboxReplies), which the outbound pipeline
   * (src/sms/outbox, started next to the gateway) sends back over the link the command came on.
   */
  replies?: Replies;
  /** Overrides of the environment (tests). */
  secretKey?: Uint8Array;
  listen?: { port: number; host?: string } | null;
  rateLimit?: RateLimit;
  /** Where the shared per-number counts live in Redis (default "fingate:sms:mo-rate:"; tests set their own). */
  rateLimitPrefix?: string;
  clientDefaults?: Partial<SmppClientOptions>;
  defaultLanguage?: Language;
  /** See SmsCommandDeps.receiptsViaOutbox (default false). */
  receiptsViaOutbox?: boolean;
  /** How long the parts of a concatenated MO message wait for the rest (default MO_PARTS_TTL_SEC). */
  moPartsTtlSec?: number;
  /** How often expired parts are swept (default a minute). */
  moPartsSweepEveryMs?: number;
  /** How often acknowledged, unanswered commands are looked for (default PENDING_SWEEP_EVERY_MS). */
  pendingSweepEveryMs?: number;
  /** The run lease on MO records and how long a run renews it at most (SmsCommandDeps.leaseSec, maxRunSec; tests shorten them). */
  moLease?: { leaseSec?: number; maxRunSec?: number };
}

export interface SmsGateway {
  manager: SmsLinkManager;
  admin: SmsLinkAdmin;
  commands: SmsCommands;
  /** isOptedOut(msisdn) for the outbound relay. */
  optOuts: SqlOptOuts;
  /** The listener's port, or null when it is off. */
  smppPort: number | null;
  /** Runs acknowledged commands a dead or failed run left unanswered (on a timer; sweep() for tests). */
  pending: PendingMoRecovery<IncomingSms> | null;
  close(): Promise<void>;
}

export async function buildSmsGateway(deps: SmsGatewayDeps): Promise<SmsGateway> {
  const env = deps.env ?? process.env;
  const key = deps.secretKey ?? secretKeyFromEnv(env, deps.logger);
  const derive = (label: string) => createHmac("sha256", key).update(label).digest();
  const store = new SqlLinkStore(deps.db);
  const sealer = new LinkPasswordSealer(derive("fingate:sms:link-password"));
  const manager = new SmsLinkManager({ store, sealer, logger: deps.logger, listen: deps.listen === undefined ? listenFromEnv(env) : (deps.listen ?? undefined), clientDefaults: deps.clientDefaults });
  // No offline queue: while Redis is unreachable a count fails at once and the instance counts alone.
  const redis = deps.redisUrl ? new Redis(deps.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false }) : null;
  redis?.on("error", () => undefined); // reported by the limiter, once an outage
  // Without an offline queue, a command before the connection is up fails and is counted alone: a
  // restarted instance would let a number's first messages through however many it had sent.
  if (redis) await connectedWithin(redis, REDIS_CONNECT_WAIT_MS);
  const prefix = deps.rateLimitPrefix ?? "fingate:sms:mo-rate:";
  const limit = deps.rateLimit ?? DEFAULT_MO_RATE_LIMIT;
  const rateLimiter = moRateLimiter(redis, prefix, limit, deps.logger);
  // A number's parts of concatenated messages: as many as its whole messages may have.
  const partsRateLimiter = moRateLimiter(redis, `${prefix}parts:`, { max: limit.max * MAX_MO_PARTS, windowSec: limit.windowSec }, deps.logger);
  const optOuts = new SqlOptOuts(deps.db);
  // One MO digest key for both ways in: an HTTP SEND is recognised by content as an SMPP one is.
  const moKeySecret = derive("fingate:sms:mo-key");
  const commands = new SmsCommands({
    vocabulary: loadVocabulary(),
    directory: deps.services.directory,
    ledger: deps.ledger,
    pins: deps.services.pins,
    payments: deps.services.payments,
    moLog: new SqlMoLog(deps.db),
    optOuts,
    replies: deps.replies ?? new OutboxReplies(deps.db),
    rateLimiter,
    logger: deps.logger,
    institutions: deps.services.institutions,
    defaultLanguage: deps.defaultLanguage,
    receiptsViaOutbox: deps.receiptsViaOutbox,
    moKeySecret,
    pendingSealer: new PendingMoSealer(derive("fingate:sms:mo-pending")),
    leaseSec: deps.moLease?.leaseSec,
    maxRunSec: deps.moLease?.maxRunSec,
  });
  const ussd = new UssdOverSmpp({ hops: deps.ussdHops ?? null, logger: deps.logger });
  const parts = new SqlMoParts(deps.db, new MoPartSealer(derive("fingate:sms:mo-parts")), deps.moPartsTtlSec);
  parts.startSweeping(deps.moPartsSweepEveryMs);
  manager.attach(new InboundDispatcher({ commands, ussd, parts, partsRateLimiter, moKeySecret, logger: deps.logger }));
  const smppPort = await manager.start();
  // A link that speaks USSD: sessions a stopped process left are looked for from now on.
  if ((await store.list()).some((l) => l.ussd !== null)) ussd.watchForOrphans();
  const recovery = commands.pendingRecovery();
  recovery?.start(deps.pendingSweepEveryMs);
  return {
    manager,
    admin: new SmsLinkAdmin(store, manager, sealer),
    commands,
    optOuts,
    smppPort,
    pending: recovery,
    close: async () => {
      parts.stopSweeping();
      await recovery?.stop();
      await manager.close();
      await ussd.close();
      await commands.drain();
      redis?.disconnect();
    },
  };
}

/** How long start-up waits for the rate limit's Redis connection before counting alone. */
const REDIS_CONNECT_WAIT_MS = 2_000;

/** Resolves when the connection is ready or `ms` have passed, whichever is first (never rejects). */
async function connectedWithin(redis: Redis, ms: number): Promise<void> {
  if (redis.status === "ready") return;
  let timer: NodeJS.Timeout | undefined;
  let onReady: (() => void) | undefined;
  await new Promise<void>((resolve) => {
    onReady = resolve;
    redis.once("ready", onReady);
    timer = setTimeout(resolve, ms);
  });
  clearTimeout(timer);
  if (onReady) redis.off("ready", onReady);
}

/** In Redis (shared by the instances) while it answers, else in this process's memory. */
function moRateLimiter(redis: Redis | null, prefix: string, limit: RateLimit, logger: LinkManagerLogger): RateLimiter {
  const local = new MemoryRateLimiter(limit);
  return redis ? new FallbackRateLimiter(new RedisRateLimiter(redis, prefix, limit), local, logger) : local;
}

function listenFromEnv(env: NodeJS.ProcessEnv): { port: number; host?: string } | undefined {
  if (!smppListenOn(env.FINGATE_SMPP_LISTEN)) return undefined;
  const raw = env.FINGATE_SMPP_PORT?.trim();
  const port = raw ? Number(raw) : 2775;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error("FINGATE_SMPP_PORT must be a port number");
  return { port, host: env.FINGATE_SMPP_HOST?.trim() || "0.0.0.0" };
}

/**
 * FINGATE_SMPP_LISTEN, read as FINGATE_DEMO is: anything but "1" used to mean off, so "true" or
 * "yes" left the listener off without a word and no telco could bind. A value that is neither on
 * nor off now stops the start.
 */
function smppListenOn(raw: string | undefined): boolean {
  const value = raw?.trim().toLowerCase() ?? "";
  if (["1", "true", "on", "yes"].includes(value)) return true;
  if (["", "0", "false", "off", "no"].includes(value)) return false;
  throw new Error(`FINGATE_SMPP_LISTEN must be on (1, true, on, yes) or off (0, false, off, no), got "${raw}"`);
}

function secretKeyFromEnv(env: NodeJS.ProcessEnv, logger: LinkManagerLogger): Uint8Array {
  const hex = env.FINGATE_SMS_SECRET_KEY?.trim();
  if (!hex) {
    logger.warn({}, "FINGATE_SMS_SECRET_KEY unset: a random key for this process (client links' passwords will not open after a restart)");
    return randomBytes(32);
  }
  return hexKey32("FINGATE_SMS_SECRET_KEY")(hex);
}

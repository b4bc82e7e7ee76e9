import type { Server } from "node:http";
import v8 from "node:v8";
import express from "express";
import type { Config } from "./config.js";
import { Ledger } from "./core/ledger/ledger.js";
import { prepareDemo, type DemoSetup } from "./demo/setup.js";
import { adminRouter } from "./http/admin/router.js";
import { agentApiRouter } from "./http/agent/router.js";
import { createApp, READY_TIMEOUT_MS } from "./http/app.js";
import { RequestsInFlight } from "./http/requests-in-flight.js";
import { hexKey32, resolveInstanceKey, type InstanceKeySpec } from "./infra/auth/instance-key.js";
import { resolvePinKey } from "./infra/auth/pin-key.js";
import { smsAggregatorsFromEnv, smsMoRouter } from "./http/sms/mo-router.js";
import { CoalescedAccountReads } from "./infra/db/coalesced-account-reads.js";
import { startAnchorWriter } from "./infra/db/audit-anchor-file.js";
import { AuditChainUnverified } from "./core/audit/anchor.js";
import { SqlLedgerStore } from "./infra/db/ledger-store.js";
import { migrate } from "./infra/db/migrate.js";
import { describeDatabase, openDatabase, withoutStatementTimeout } from "./infra/db/open.js";
import { isBadValueSqlError, isRetryableSqlError, type SqlDb } from "./infra/db/sql.js";
import { createLogger, logDestination, type Logger } from "./infra/log.js";
import { buildServices, type CoreServices } from "./services.js";
import { buildSmsGateway, type SmsGateway } from "./sms/gateway.js";
import { startOutbound, type Outbound } from "./sms/outbox/outbound.js";
import { serveHopsFirst } from "./ussd/fast-path.js";
import { buildUssdGateway } from "./ussd/gateway.js";

/** The composition root: the one place that builds adapters and wires them into the core. */
export interface Gateway {
  config: Config;
  logger: Logger;
  db: SqlDb;
  ledger: Ledger;
  services: CoreServices;
  /** The demo data and USSD binding on embedded defaults (src/demo); null otherwise. */
  demo: DemoSetup | null;
  /** SMS links (the link directory), the telco listener, SMS commands, USSD over SMPP. */
  sms: SmsGateway;
  outbound: Outbound;
  app: ReturnType<typeof createApp>;
  close(): Promise<void>;
}

export async function buildGateway(config: Config, logger = createLogger(config.logLevel, logDestination(config.logBufferBytes))): Promise<Gateway> {
  heapGrowth(config.heapGrowthPercent);
  const db = await openDatabase(config);
  // Without DB_STATEMENT_TIMEOUT_MS, which is for serving: a long migration must not be cancelled half way.
  const applied = await withoutStatementTimeout(db, (maintenance) => migrate(maintenance));
  logger.info({ database: describeDatabase(config), migrationsApplied: applied }, "database ready");
  // Account reads of hops in flight together share a statement (balances, wallets' currency, system accounts).
  const store = new SqlLedgerStore(db, { prepare: true, audit: true, cache: config.ledger.cacheAccounts > 0, cacheAccounts: config.ledger.cacheAccounts });
  const ledger = new Ledger(new CoalescedAccountReads(store), {
    maxQueuedTransfers: config.ledger.maxQueuedTransfers,
    maxBatchTransfers: config.ledger.maxBatchTransfers,
    maxBatchesInFlight: config.ledger.maxBatchesInFlight,
    isRetryable: isRetryableSqlError, isBadValue: isBadValueSqlError,
  });
  const pinKey = await resolvePinKey({ configured: config.pinKey, dataDir: config.dataDir, production: config.production });
  if (pinKey.origin === "data-dir") logger.warn({ file: pinKey.file }, "FINGATE_PIN_KEY unset: using the PIN key kept in the data directory");
  const services = buildServices(db, ledger, {
    schema: config.databaseSchema,
    pinPepper: config.pinPepper,
    pinKey: pinKey.key,
    pinScheme: config.pinScheme,
    pinSeenSubjects: config.pinSeenSubjects,
    cashOutTimeoutSec: config.agentCashOutTimeoutSec,
    readCacheMs: config.readCacheMs,
  });
  // Anchors of the audit chains outside the database (FINGATE_AUDIT_ANCHOR_FILE): a path that cannot be written, or a file whose
  // last anchor the chains do not hold, stops the start; chains that do not verify after it are reported as errors (tampering,
  // for an operator) and get no anchor.
  const anchors = config.auditAnchorFile
    ? await startAnchorWriter({
      db,
      file: config.auditAnchorFile,
      everyMs: config.auditAnchorEveryMs,
      onWarning: (message) => logger.warn({ file: config.auditAnchorFile }, message),
      onError: (error) => {
        if (error instanceof AuditChainUnverified) logger.error({ err: error, file: config.auditAnchorFile }, "audit chains do not verify: no anchor written");
        else logger.warn({ err: error, file: config.auditAnchorFile }, "audit anchor not written");
      },
    })
    : undefined;
  const stopSweep = startExpirySweep(ledger, config.ledger.expirySweepMs, logger);
  // On an empty embedded database: demo data, and the USSD channel on for it (src/demo/setup.ts).
  const demo = await prepareDemo({ config, db, ledger, services, logger });
  // USSD is on when an aggregator is configured (FINGATE_USSD_AT_SECRET …; see src/ussd/gateway.ts).
  // With FINGATE_USSD_INSTITUTION_ID alone (no HTTP aggregator) the channel is built for USSD over SMPP.
  const alwaysOn = Boolean(process.env.FINGATE_USSD_INSTITUTION_ID?.trim());
  // The keys every instance shares (sealed PINs between USSD steps and retry digests; SMS link
  // passwords and MO digests): configured, or kept in the data directory on embedded defaults.
  const keys = await instanceKeys(config, logger);
  const ussd = await buildUssdGateway({ services, ledger, logger, redisUrl: config.redisUrl, alwaysOn, secretKey: keys.ussd, ...demo?.ussd });
  // SMS inbound: links configured through the admin API, the telco listener (FINGATE_SMPP_LISTEN),
  // SMS commands, USSD over SMPP, and HTTP MO for FINGATE_SMS_AGGREGATORS (src/sms/gateway.ts).
  // The ledger writes payment receipts to the outbox with the transfer, so a SEND command does not
  // answer "sent" itself as well (the payer would get two messages).
  const sms = await buildSmsGateway({ db, services, ledger, logger, redisUrl: config.redisUrl, ussdHops: ussd?.hops, receiptsViaOutbox: true, secretKey: keys.sms });
  const smsAggregators = smsAggregatorsFromEnv(process.env);
  const smsMo = smsAggregators.length > 0 ? smsMoRouter({ aggregators: smsAggregators, commands: sms.commands, logger }) : undefined;
  // SMS outbound: the outbox relay → a queue per link (BullMQ with REDIS_URL, else in-process) →
  // the links sms.manager routes to; delivery receipts matched back (src/sms/outbox/outbound.ts).
  const outbound = startOutbound({
    db,
    links: sms.manager,
    redisUrl: config.redisUrl,
    defaultLanguage: config.smsOutbound.language,
    relay: { defaultSender: config.smsOutbound.sender },
    sender: { maxAttempts: config.smsOutbound.maxAttempts },
    onError: (error, context) => logger.warn({ err: error.message, context }, "sms outbound"),
  });
  const app = withAdmin(
    // Bounded by the database itself too (ping), so a hung check does not keep /readyz at 503 once the database is back.
    createApp({ logger, checkDatabase: () => db.ping(READY_TIMEOUT_MS) }),
    ussd?.router,
    adminRouter({
      db,
      ledger,
      logger,
      platformApiKey: config.platformApiKey,
      directory: services.directory,
      pins: services.pins,
      simSwaps: services.simSwap,
      agents: services.agents,
      agentKeys: services.agentKeys,
      smsLinks: sms.admin,
    }),
    [smsMo, agentApiRouter({ agents: services.agents, keys: services.agentKeys, logger })],
  );
  if (ussd) serveHopsFirst(app, ussd.fastPath);
  return {
    config,
    logger,
    db,
    ledger,
    services,
    demo,
    sms,
    outbound,
    app,
    close: async () => {
      stopSweep();
      await outbound.close();
      await sms.close();
      await ussd?.close();
      await ledger.close();
      // After the last writes: the final anchor names the heads as this instance leaves them.
      await anchors?.stop();
      await services.close();
      await db.close();
      // Lines still buffered (LOG_BUFFER_BYTES) go out before the caller exits.
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
    },
  };
}

/**
 * USSD first (its hops are most of the traffic, and its routes only match /ussd/…: a hop no longer
 * walks every admin route before its own), then the admin API (/admin/v1, /openapi.json), the
 * other channels and the agent API (/agent/v1), in front of the app, whose 404 and errors handle the rest.
 */
function withAdmin(
  app: express.Express,
  ussd: express.Router | undefined,
  admin: express.Router,
  channels: Array<express.Router | undefined>,
): express.Express {
  const outer = express();
  outer.disable("x-powered-by");
  outer.set("trust proxy", false);
  if (ussd) outer.use(ussd);
  outer.use(admin);
  for (const channel of channels) if (channel) outer.use(channel);
  outer.use(app);
  return outer;
}

const USSD_KEY: InstanceKeySpec = { name: "USSD key", variable: "FINGATE_USSD_SECRET_KEY", file: "ussd-key", parse: hexKey32("FINGATE_USSD_SECRET_KEY"), required: "64 hex characters" };
const SMS_KEY: InstanceKeySpec = { name: "SMS key", variable: "FINGATE_SMS_SECRET_KEY", file: "sms-key", parse: hexKey32("FINGATE_SMS_SECRET_KEY"), required: "64 hex characters" };

/** Refused in production when unset: a key generated per process would pay a re-delivered SMS twice after a restart. */
async function instanceKeys(config: Config, logger: Logger): Promise<{ ussd: Uint8Array; sms: Uint8Array }> {
  const source = (configured: string | undefined) => ({ configured, dataDir: config.dataDir, production: config.production });
  const ussd = await resolveInstanceKey(USSD_KEY, source(process.env.FINGATE_USSD_SECRET_KEY?.trim()));
  const sms = await resolveInstanceKey(SMS_KEY, source(process.env.FINGATE_SMS_SECRET_KEY?.trim()));
  for (const [variable, resolved] of [["FINGATE_USSD_SECRET_KEY", ussd], ["FINGATE_SMS_SECRET_KEY", sms]] as const) {
    if (resolved.origin === "data-dir") logger.warn({ file: resolved.file }, `${variable} unset: using the key kept in the data directory (one machine only)`);
  }
  return { ussd: ussd.key, sms: sms.key };
}

/**
 * Under load most of what a hop allocates lives as long as the hop (a few round trips), so it
 * survives the young generation and dies in the old one. V8 then sizes the old generation at up
 * to 4× what survived its last full collection: ~50 MB live became ~250 MB of heap (and resident
 * memory) under the USSD benchmark. A bounded growth factor keeps the heap near its live size for
 * a few more full collections, which run mostly concurrently. V8 reads this flag at every
 * collection, so setting it once the process runs takes effect (the gateway owns its process).
 */
function heapGrowth(percent: number): void {
  if (percent > 0) v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/** Voids expired pending transfers on a timer; one sweep at a time, errors logged and retried next tick. */
function startExpirySweep(ledger: Ledger, everyMs: number, logger: Logger): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    ledger
      .expirePendings()
      .then((voided) => voided > 0 && logger.info({ voided }, "expired pending transfers voided"))
      .catch((error: unknown) => logger.warn({ err: error }, "expiry sweep failed"))
      .finally(() => (running = false));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * An idle keep-alive connection is closed by the server only after its clients would have closed it.
 * Node's default (5 s, closed after 6) is shorter than most clients' and proxies' idle timeouts (60 s is common),
 * so a client could send its next hop on a connection at the moment the server closed it: that
 * hop failed at the client as a reset connection, with no answer for the user. The headers timeout
 * must exceed the keep-alive timeout (Node's rule for a request arriving just before it expires).
 */
const KEEP_ALIVE_MS = 65_000;

export function holdIdleConnections(server: Server): Server {
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 1_000;
  return server;
}

/** Serves the app on port and host, idle connections held (above); resolves once it listens. */
export async function listen(app: Gateway["app"], port: number, host: string): Promise<Server> {
  const server = holdIdleConnections(app.listen(port, host));
  await new Promise<void>((resolve, reject) => server.once("listening", resolve).once("error", reject));
  return server;
}

/** How long a shutdown waits for the requests in flight before it closes the gateway under them. */
export const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Stops taking requests, lets those in flight answer (at most graceMs), then closes the gateway.
 * Closing the pools first would fail a request still running (an admin call, an agent's cash-in
 * waiting on the ledger), and the process's exit would cut its answer off. USSD hops go on after
 * their answer (the session's commit): the gateway's own close waits for those.
 */
export async function stopGateway(gateway: Pick<Gateway, "close" | "logger">, server: Server, inFlight: RequestsInFlight, graceMs = SHUTDOWN_GRACE_MS): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const allAnswered = await inFlight.settled(graceMs);
  if (!allAnswered) gateway.logger.warn({ requests: inFlight.size, graceMs }, "shutting down with requests still in flight");
  // Keep-alive connections idle since their last answer would hold server.close for their timeout.
  server.closeAllConnections();
  await closed;
  await gateway.close();
}

export async function startGateway(config: Config): Promise<{ gateway: Gateway; server: Server; inFlight: RequestsInFlight }> {
  const gateway = await buildGateway(config);
  const server = await listen(gateway.app, config.port, config.host);
  const inFlight = new RequestsInFlight(server);
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  gateway.logger.info({ port, host: config.host }, "fingate listening");
  gateway.demo?.announce(port);
  // Start-up lines are read by a person waiting for them: not left in the log's buffer.
  gateway.logger.flush();
  return { gateway, server, inFlight };
}

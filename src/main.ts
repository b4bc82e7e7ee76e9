import type { Server } from "node:http";
import express from "express";
import type { Config } from "./config.js";
import { Ledger } from "./core/ledger/ledger.js";
import { prepareDemo, type DemoSetup } from "./demo/setup.js";
import { adminRouter } from "./http/admin/router.js";
import { agentApiRouter } from "./http/agent/router.js";
import { createApp } from "./http/app.js";
import { resolvePinKey, pinKeyPath } from "./infra/auth/pin-key.js";
import { SqlLedgerStore } from "./infra/db/ledger-store.js";
import { migrate } from "./infra/db/migrate.js";
import { describeDatabase, openDatabase } from "./infra/db/open.js";
import { isRetryableSqlError, type SqlDb } from "./infra/db/sql.js";
import { createLogger, type Logger } from "./infra/log.js";
import { buildServices, type CoreServices } from "./services.js";
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
  app: ReturnType<typeof createApp>;
  close(): Promise<void>;
}

export async function buildGateway(config: Config, logger = createLogger(config.logLevel)): Promise<Gateway> {
  const db = await openDatabase(config);
  const applied = await migrate(db);
  logger.info({ database: describeDatabase(config), migrationsApplied: applied }, "database ready");
  const ledger = new Ledger(new SqlLedgerStore(db), {
    maxQueuedTransfers: config.ledger.maxQueuedTransfers,
    maxBatchTransfers: config.ledger.maxBatchTransfers,
    maxBatchesInFlight: config.ledger.maxBatchesInFlight,
    isRetryable: isRetryableSqlError,
  });
  const pinKey = await resolvePinKey({ configured: config.pinKey, dataDir: config.dataDir, production: config.production });
  if (pinKey.origin === "data-dir") logger.warn({ file: pinKeyPath(config.dataDir) }, "FINGATE_PIN_KEY unset: using the PIN key kept in the data directory");
  const services = buildServices(db, ledger, {
    schema: config.databaseSchema,
    pinPepper: config.pinPepper,
    pinKey: pinKey.key,
    pinScheme: config.pinScheme,
    cashOutTimeoutSec: config.agentCashOutTimeoutSec,
    readCacheMs: config.readCacheMs,
  });
  const stopSweep = startExpirySweep(ledger, config.ledger.expirySweepMs, logger);
  // On an empty embedded database: demo data, and the USSD channel on for it (src/demo/setup.ts).
  const demo = await prepareDemo({ config, db, ledger, services, logger });
  // USSD is on when an aggregator is configured (FINGATE_USSD_AT_SECRET …; see src/ussd/gateway.ts).
  const ussd = await buildUssdGateway({ services, ledger, logger, redisUrl: config.redisUrl, ...demo?.ussd });
  const app = withAdmin(
    createApp({ logger, checkDatabase: async () => void (await db.query("SELECT 1")) }),
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
    }),
    ussd?.router,
    agentApiRouter({ agents: services.agents, keys: services.agentKeys, logger }),
  );
  return {
    config,
    logger,
    db,
    ledger,
    services,
    demo,
    app,
    close: async () => {
      stopSweep();
      await ussd?.close();
      await ledger.close();
      await services.close();
      await db.close();
    },
  };
}

/** The admin API (/admin/v1, /openapi.json) and the agent API (/agent/v1) in front of the app, whose 404 and errors handle the rest. */
function withAdmin(app: express.Express, admin: express.Router, ussd: express.Router | undefined, agentApi: express.Router): express.Express {
  const outer = express();
  outer.disable("x-powered-by");
  outer.set("trust proxy", false);
  outer.use(admin);
  outer.use(agentApi);
  if (ussd) outer.use(ussd);
  outer.use(app);
  return outer;
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

export async function startGateway(config: Config): Promise<{ gateway: Gateway; server: Server }> {
  const gateway = await buildGateway(config);
  const server = gateway.app.listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => server.once("listening", resolve).once("error", reject));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  gateway.logger.info({ port, host: config.host }, "fingate listening");
  gateway.demo?.announce(port);
  return { gateway, server };
}

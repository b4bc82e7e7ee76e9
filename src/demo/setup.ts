/**
 * The demo at start-up (called from src/main.ts): seed the demo data when the database is embedded
 * and empty, and turn the USSD channel on for it when no aggregator is configured, so that
 * `npm start` followed by `npm run -s fingate -- dial '*384#' --msisdn +254700000001` just works.
 *
 *   FINGATE_DEMO   unset: demo on embedded PGlite only, and not with NODE_ENV=production;
 *                  "1": also on PostgreSQL (an empty schema) and in production; "0": never
 *
 * With DATABASE_URL set and FINGATE_DEMO unset nothing here runs. NODE_ENV=production (the Docker
 * image) on the embedded database seeded the demo too: wallets and an agent whose PINs README
 * publishes, and USSD on at /ussd/at with a generated secret, on a deployment that may be meant
 * for real customers. Production now seeds only when FINGATE_DEMO=1 says so, and start-up says which.
 */
import path from "node:path";
import type { Config } from "../config.js";
import type { Ledger } from "../core/ledger/ledger.js";
import type { SqlDb } from "../infra/db/sql.js";
import type { Logger } from "../infra/log.js";
import type { AggregatorConfig } from "../ussd/router.js";
import { ensureDemoSecret, demoSecretPath } from "./secret.js";
import { DEMO, seedDemo, type SeedDeps } from "./seed.js";

export type DemoMode = "auto" | "on" | "off";

export function demoMode(env: NodeJS.ProcessEnv = process.env): DemoMode {
  const raw = env.FINGATE_DEMO?.trim().toLowerCase() ?? "";
  if (raw === "") return "auto";
  if (["1", "true", "on", "yes"].includes(raw)) return "on";
  if (["0", "false", "off", "no"].includes(raw)) return "off";
  throw new Error(`FINGATE_DEMO must be on (1, true, on, yes) or off (0, false, off, no), got "${env.FINGATE_DEMO}"`);
}

/** Whether the demo applies to this configuration at all (it still needs an empty database to seed). */
export function demoApplies(config: Pick<Config, "databaseUrl" | "production">, env: NodeJS.ProcessEnv = process.env): boolean {
  const mode = demoMode(env);
  return mode === "on" || (mode === "auto" && !config.databaseUrl && !config.production);
}

export interface DemoSetup {
  institutionId: string;
  status: "seeded" | "already_seeded";
  /** For buildUssdGateway: only what the environment leaves unset (an aggregator, the institution). */
  ussd: { aggregators?: AggregatorConfig[]; institutionId?: string };
  /** Logs how to dial the demo, once the HTTP port is known. */
  announce(port: number): void;
}

export interface DemoDeps {
  config: Pick<Config, "databaseUrl" | "dataDir" | "host" | "production"> & Partial<Pick<Config, "demoSeedWaitMs">>;
  db: SqlDb;
  ledger: Ledger;
  services: SeedDeps["services"];
  logger: Pick<Logger, "info" | "warn">;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
}

/** null when the demo does not apply or the database holds other data. */
export async function prepareDemo(deps: DemoDeps): Promise<DemoSetup | null> {
  const env = deps.env ?? process.env;
  if (!demoApplies(deps.config, env)) {
    if (deps.config.production && !deps.config.databaseUrl && demoMode(env) === "auto") {
      deps.logger.info("demo: not seeded, as NODE_ENV=production; set FINGATE_DEMO=1 to seed and serve the demo bank (its PINs are published in README)");
    }
    return null;
  }
  const outcome = await seedDemo({ db: deps.db, ledger: deps.ledger, services: deps.services, now: deps.now, lockWaitMs: deps.config.demoSeedWaitMs });
  if (outcome.status === "not_empty") {
    deps.logger.info("demo: the database already holds institutions, so no demo data was seeded");
    return null;
  }
  if (deps.config.production) {
    deps.logger.warn("demo: FINGATE_DEMO=1 with NODE_ENV=production: the demo bank's wallets and agent open with the PINs published in README; never on a deployment for real customers");
  }
  if (outcome.status === "seeded") {
    deps.logger.info(
      { institution: DEMO.institution.code, customers: DEMO.customers.length, agent: DEMO.agent.storeNumber, telco: DEMO.telco.code, networkCode: DEMO.telco.networkCode },
      "demo: seeded a demo institution, two customers with funded wallets, an agent with a funded float, p2p and cash-out fee schedules and a demo telco tariff plan (README lists them)",
    );
  }

  const configured = Boolean(env.FINGATE_USSD_AT_SECRET?.trim() || env.FINGATE_USSD_AGGREGATORS?.trim());
  const ussd: DemoSetup["ussd"] = {};
  if (!env.FINGATE_USSD_INSTITUTION_ID?.trim()) ussd.institutionId = outcome.institutionId;
  if (!configured) {
    ussd.aggregators = [{ name: "at", dialect: "africastalking", secret: await ensureDemoSecret(deps.config.dataDir) }];
  }
  const servesDemo = (ussd.institutionId ?? env.FINGATE_USSD_INSTITUTION_ID?.trim()) === outcome.institutionId;
  // The dial command finds the secret in the data directory, or in FINGATE_USSD_AT_SECRET.
  const reachable = !configured || Boolean(env.FINGATE_USSD_AT_SECRET?.trim());

  return {
    institutionId: outcome.institutionId,
    status: outcome.status,
    ussd,
    announce: (port) => {
      if (!servesDemo || !reachable) return;
      deps.logger.info(
        { secretFile: configured ? undefined : demoSecretPath(deps.config.dataDir) },
        `demo: USSD on at POST /ussd/at (Africa's Talking); try it: ${dialCommand(deps.config, port)}  (demo customers and PINs: README)`,
      );
    },
  };
}

/** The command line that reaches this gateway with the demo's first customer. */
export function dialCommand(config: Pick<Config, "dataDir" | "host">, port: number): string {
  const parts: string[] = [];
  if (config.dataDir !== path.resolve("./data")) parts.push(`FINGATE_DATA_DIR=${shellQuote(config.dataDir)}`);
  parts.push("npm run -s fingate -- dial", `'${DEMO.serviceCode}'`, "--msisdn", DEMO.customers[0].msisdn);
  const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  if (port !== 3000 || host !== "localhost") parts.push("--url", `http://${host.includes(":") ? `[${host}]` : host}:${port}`);
  return parts.join(" ");
}

function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

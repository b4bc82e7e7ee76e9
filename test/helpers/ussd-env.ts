/**
 * The USSD channel over the real core for one test file: a fresh PostgreSQL schema, the ledger,
 * the core services, one KES institution in Nairobi (default country KE) and an Africa's Talking
 * aggregator mounted on an Express app that supertest can post to.
 */
import { randomBytes, randomUUID } from "node:crypto";
import express from "express";
import request from "supertest";
import { expect } from "vitest";
import { Ledger } from "../../src/core/ledger/ledger.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { isRetryableSqlError } from "../../src/infra/db/sql.js";
import { MemorySessionStore, type SessionStore } from "../../src/menus/engine/session-store.js";
import { buildServices, type CoreServices } from "../../src/services.js";
import { buildUssdGateway, type UssdGateway } from "../../src/ussd/gateway.js";
import type { HopLogger } from "../../src/ussd/hop-types.js";
import type { AggregatorConfig } from "../../src/ussd/router.js";
import { openTestDb, type TestDb } from "./db.js";

export const SYSTEM = { actorType: "system" as const, actorId: "e2e", channel: "system" as const };
const SILENT: HopLogger = { info() {}, warn() {}, error() {} };

export interface UssdEnv {
  test: TestDb;
  ledger: Ledger;
  services: CoreServices;
  bankId: string;
  gateway: UssdGateway;
  app: express.Express;
  /** The Africa's Talking aggregator's secret, which the app checks in x-fingate-secret. */
  secret: string;
  close(): Promise<void>;
}

export async function openUssdEnv(options: {
  code: string;
  secret: string;
  sessions?: SessionStore;
  logger?: HopLogger;
  /** The institution's default language (the column's default, en, when absent). */
  language?: string;
  languageRefreshMs?: number;
  /** Aggregators mounted beside the Africa's Talking one ("at", with `secret`). */
  moreAggregators?: AggregatorConfig[];
}): Promise<UssdEnv> {
  const test = await openTestDb("postgres", { maxConnections: 8 });
  const ledger = new Ledger(new SqlLedgerStore(test.db), { isRetryable: isRetryableSqlError });
  const services = buildServices(test.db, ledger, { schema: test.schema });
  const bankId = randomUUID();
  await test.db.query(
    "INSERT INTO institutions (id, code, name, currency, timezone, language) VALUES ($1, $2, 'Test Bank', 'KES', 'Africa/Nairobi', $3)",
    [bankId, options.code, options.language ?? "en"],
  );
  const configured = await services.directory.setDefaultCountry(SYSTEM, bankId, "KE");
  if (!configured.ok) throw new Error(configured.code);
  const gateway = await buildUssdGateway({
    services,
    ledger,
    logger: options.logger ?? SILENT,
    institutionId: bankId,
    aggregators: [{ name: "at", dialect: "africastalking", secret: options.secret }, ...(options.moreAggregators ?? [])],
    secretKey: randomBytes(32),
    sessions: options.sessions ?? new MemorySessionStore(),
    languageRefreshMs: options.languageRefreshMs,
  });
  if (!gateway) throw new Error("the USSD channel did not start");
  const app = express();
  app.use(gateway.router);
  return {
    test,
    ledger,
    services,
    bankId,
    gateway,
    app,
    secret: options.secret,
    close: async () => {
      await gateway.close();
      await ledger.close();
      await services.close();
      await test.cleanup();
    },
  };
}

/**
 * One session walked over Africa's Talking: the replies to its cumulative texts, one per hop (the
 * first is the dial), each answered 200.
 */
export async function walkAt(env: Pick<UssdEnv, "app" | "secret">, sessionId: string, phoneNumber: string, inputs: string[]): Promise<string[]> {
  const texts = ["", ...inputs.map((_, i) => inputs.slice(0, i + 1).join("*"))];
  const replies: string[] = [];
  for (const text of texts) {
    const r = await request(env.app).post("/ussd/at").set("x-fingate-secret", env.secret).type("form").send({ sessionId, serviceCode: "*384#", phoneNumber, networkCode: "63902", text });
    expect(r.status).toBe(200);
    replies.push(r.text);
  }
  return replies;
}

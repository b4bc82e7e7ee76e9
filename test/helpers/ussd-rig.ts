/**
 * The whole USSD channel for one e2e test file, as production runs it: gateway instances sharing
 * sessions in the real Redis (under a key prefix of the file's own), over the real core on the
 * real PostgreSQL (in a schema of the file's own), posted real Africa's Talking payloads with
 * supertest. Instances can also be added over other services (a database behind a proxy that a
 * test shuts down) or another session store (Redis behind one).
 */
import { randomBytes, randomUUID } from "node:crypto";
import express from "express";
import { Redis } from "ioredis";
import request from "supertest";
import { expect } from "vitest";
import type { Customer } from "../../src/core/directory/types.js";
import { Ledger } from "../../src/core/ledger/ledger.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { isRetryableSqlError } from "../../src/infra/db/sql.js";
import { RedisSessionStore } from "../../src/infra/redis/session-store.js";
import type { SessionStore } from "../../src/menus/engine/session-store.js";
import { buildServices, type CoreServices } from "../../src/services.js";
import { buildUssdGateway, type UssdGateway } from "../../src/ussd/gateway.js";
import { DEFAULT_BUDGET, isGsm7, measure } from "../../src/ussd/gsm.js";
import type { HopLimits, HopLogger } from "../../src/ussd/hop-types.js";
import { openTestDb, type TestDb } from "./db.js";
import { SYSTEM } from "./ussd-env.js";
import { registerWithPin } from "./core-setup.js";

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
export const SILENT: HopLogger = { info() {}, warn() {}, error() {} };

export interface RigInstance {
  gateway: UssdGateway;
  app: express.Express;
}

export interface UssdRig {
  test: TestDb;
  ledger: Ledger;
  services: CoreServices;
  bankId: string;
  /** A settlement account that funds wallets. */
  treasury: string;
  /** This file's Redis key prefix (sessions live at `${prefix}at:<id>`, locks at `${prefix}lock:at:<id>`). */
  prefix: string;
  secret: string;
  /** The PIN key of the rig's core: another core over the same schema needs it to verify the PINs. */
  pinKey: Uint8Array;
  /** A plain client on the shared Redis, for looking at what the gateways left there. */
  redis: Redis;
  instances: RigInstance[];
  /** Another instance sharing the rig's secret key (and, unless given another store, its Redis prefix). */
  addInstance(options?: {
    services?: CoreServices;
    ledger?: Ledger;
    sessions?: SessionStore;
    hopLimits?: Partial<HopLimits>;
    logger?: HopLogger;
    /** The Africa's Talking aggregator's configured short code (AggregatorConfig.serviceCode); none by default. */
    atServiceCode?: string;
  }): Promise<RigInstance>;
  /** One Africa's Talking hop to instance i (or an app). */
  post(target: number | express.Express, sessionId: string, phoneNumber: string, text: string, extra?: Record<string, string>): request.Test;
  /** A session from its first hop, one cumulative text per input; returns every reply (status 200 checked). */
  walk(sessionId: string, phone: string, inputs: string[], options?: { alternate?: boolean; serviceCode?: string }): Promise<string[]>;
  customer(msisdn: string, name: string, language: Customer["language"], pin: string, balanceMinor?: bigint): Promise<Customer>;
  fund(walletAccountId: string, amountMinor: bigint): Promise<void>;
  /** Available balance (credits − debits − pending debits). */
  balance(accountId: string): Promise<bigint>;
  /** Rows in the tables a hop could change. */
  counts(): Promise<{ customers: number; transfers: number; audit: number; pins: number; aliases: number; metered: number }>;
  /** Every Redis key of this file that mentions the session id (record, lock, anything else). */
  keysOf(sessionId: string): Promise<string[]>;
  close(): Promise<void>;
}

export async function openUssdRig(options: {
  code: string;
  secret: string;
  instances?: number;
  language?: Customer["language"];
  hopLimits?: Partial<HopLimits>;
  logger?: HopLogger;
  /** A p2p fee schedule: free up to 100.00, 10.00 above. */
  p2pFee?: boolean;
}): Promise<UssdRig> {
  const test = await openTestDb("postgres", { maxConnections: 12 });
  const ledger = new Ledger(new SqlLedgerStore(test.db), { isRetryable: isRetryableSqlError });
  const pinKey = randomBytes(32);
  const services = buildServices(test.db, ledger, { schema: test.schema, pinKey });
  const bankId = randomUUID();
  await test.db.query("INSERT INTO institutions (id, code, name, currency, timezone, language) VALUES ($1, $2, 'Rig Bank', 'KES', 'Africa/Nairobi', $3)", [
    bankId,
    options.code,
    options.language ?? "en",
  ]);
  const configured = await services.directory.setDefaultCountry(SYSTEM, bankId, "KE");
  if (!configured.ok) throw new Error(configured.code);
  if (options.p2pFee) {
    await services.fees.put(
      bankId,
      "p2p",
      {
        type: "p2p",
        agentShareBps: 0,
        bands: [
          { minMinor: 1n, maxMinor: 100_00n, feeMinor: 0n },
          { minMinor: 100_01n, maxMinor: 10_000_000_00n, feeMinor: 10_00n },
        ],
      },
      new Date(),
      () => [],
    );
  }
  const treasury = (await ledger.createAccount({ institutionId: bankId, currency: "KES", kind: "settlement", flags: 0 })).id;
  const prefix = `fingate-test:${randomBytes(6).toString("hex")}:`;
  const secretKey = randomBytes(32);
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  const instances: RigInstance[] = [];

  const addInstance: UssdRig["addInstance"] = async (more = {}) => {
    const gateway = await buildUssdGateway({
      services: more.services ?? services,
      ledger: more.ledger ?? ledger,
      logger: more.logger ?? options.logger ?? SILENT,
      institutionId: bankId,
      aggregators: [{ name: "at", dialect: "africastalking", secret: options.secret, ...(more.atServiceCode ? { serviceCode: more.atServiceCode } : {}) }],
      secretKey,
      sessions: more.sessions ?? (await RedisSessionStore.connect(TEST_REDIS_URL, { prefix })),
      hopLimits: more.hopLimits ?? options.hopLimits,
    });
    if (!gateway) throw new Error("the USSD channel did not start");
    const app = express();
    app.use(gateway.router);
    const instance = { gateway, app };
    instances.push(instance);
    return instance;
  };
  for (let i = 0; i < (options.instances ?? 2); i++) await addInstance();

  const post: UssdRig["post"] = (target, sessionId, phoneNumber, text, extra = {}) =>
    request(typeof target === "number" ? instances[target]!.app : target)
      .post("/ussd/at")
      .set("x-fingate-secret", options.secret)
      .type("form")
      .send({ sessionId, serviceCode: "*384#", phoneNumber, networkCode: "63902", text, ...extra });

  const walk: UssdRig["walk"] = async (sessionId, phone, inputs, how = {}) => {
    const out: string[] = [];
    const texts = ["", ...inputs.map((_, i) => inputs.slice(0, i + 1).join("*"))];
    for (const [i, text] of texts.entries()) {
      const extra = how.serviceCode ? { serviceCode: how.serviceCode } : undefined;
      const r = await post(how.alternate ? i % instances.length : 0, sessionId, phone, text, extra);
      expect(r.status, `hop "${text}" of ${sessionId}`).toBe(200);
      out.push(r.text);
    }
    return out;
  };

  const fund = async (walletAccountId: string, amountMinor: bigint) => {
    const r = await ledger.transfer({ id: randomUUID(), debitAccountId: treasury, creditAccountId: walletAccountId, amountMinor, code: "cash_in" });
    expect(r.result).toBe("ok");
  };

  const customer: UssdRig["customer"] = async (msisdn, name, language, pin, balanceMinor = 0n) => {
    const c = await registerWithPin(services, bankId, { msisdn, name, pin, language });
    if (balanceMinor > 0n) await fund(c.walletAccountId, balanceMinor);
    return c;
  };

  const balance = async (accountId: string) => {
    const [a] = await ledger.getAccounts([accountId]);
    return a!.creditsPosted - a!.debitsPosted - a!.debitsPending;
  };

  const counts = async () => {
    const r = await test.db.query<{ customers: number; transfers: number; audit: number; pins: number; aliases: number; metered: number }>(
      `SELECT (SELECT count(*)::int FROM customers) AS customers, (SELECT count(*)::int FROM transfers) AS transfers,
              (SELECT count(*)::int FROM audit_log) AS audit, (SELECT count(*)::int FROM pin_credentials) AS pins,
              (SELECT count(*)::int FROM customer_aliases) AS aliases, (SELECT count(*)::int FROM metered_sessions) AS metered`,
    );
    return r.rows[0]!;
  };

  const keysOf = async (sessionId: string) => {
    const found: string[] = [];
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      found.push(...keys.filter((k) => k.includes(sessionId)));
    } while (cursor !== "0");
    return found;
  };

  return {
    test,
    ledger,
    services,
    bankId,
    treasury,
    prefix,
    secret: options.secret,
    pinKey,
    redis,
    instances,
    addInstance,
    post,
    walk,
    customer,
    fund,
    balance,
    counts,
    keysOf,
    close: async () => {
      for (const { gateway } of instances) await gateway.close().catch(() => undefined);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
      await ledger.close();
      await services.close();
      await test.cleanup();
    },
  };
}

/**
 * The text on the air ("CON "/"END " taken off) and the budget it must fit: GSM-7 (GSM 03.38's
 * basic set and extension table, as the gateway's pager counts it: src/ussd/gsm.ts) 182 septets,
 * else UCS-2 80 units. As sent: a no-break space left in a reply (the pager sends them as spaces)
 * needs UCS-2 here.
 */
export function airBudget(reply: string): { body: string; encoding: "ucs2" | "gsm7"; length: number; limit: number } {
  const body = reply.replace(/^(CON|END) /, "");
  if (!isGsm7(body)) return { body, encoding: "ucs2", length: body.length, limit: DEFAULT_BUDGET.ucs2Units };
  return { body, encoding: "gsm7", length: measure(body).length, limit: DEFAULT_BUDGET.gsm7Chars };
}

/** Every reply fits one screen of its encoding. */
export function expectOnAir(replies: string[]): void {
  for (const reply of replies) {
    const { length, limit, encoding } = airBudget(reply);
    expect(length, `${encoding} page over ${limit}: ${JSON.stringify(reply)}`).toBeLessThanOrEqual(limit);
  }
}

/**
 * The admin API over a fresh PostgreSQL schema, mounted as src/main.ts mounts it, with the real
 * directory, PIN service and SIM-swap guard, and two banks with a key per role.
 */
import express from "express";
import request from "supertest";
import { SimSwapGuard } from "../../src/core/auth/sim-swap.js";
import { PinService } from "../../src/core/auth/pin-service.js";
import { Directory } from "../../src/core/directory/directory.js";
import type { Customer } from "../../src/core/directory/types.js";
import { Ledger } from "../../src/core/ledger/ledger.js";
import { adminRouter } from "../../src/http/admin/router.js";
import { createApp } from "../../src/http/app.js";
import { Argon2PinHasher } from "../../src/infra/auth/argon2-hasher.js";
import { SqlAuditLog } from "../../src/infra/db/audit-store.js";
import { PrismaDirectoryStore } from "../../src/infra/db/directory-store.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { SqlPinStore } from "../../src/infra/db/pin-store.js";
import { createPrisma, type PrismaClient } from "../../src/infra/db/prisma.js";
import { SqlSimSwapStore } from "../../src/infra/db/sim-swap-store.js";
import { isRetryableSqlError } from "../../src/infra/db/sql.js";
import { createLogger } from "../../src/infra/log.js";
import { openTestDb, type StoreKind, type TestDb } from "../helpers/db.js";

export const PLATFORM_KEY = "test-platform-key-0123456789abcdef-0123456789";

export interface Bank {
  id: string;
  admin: string;
  operator: string;
  auditor: string;
}

export interface AdminFixture {
  test: TestDb;
  prisma: PrismaClient;
  ledger: Ledger;
  directory: Directory;
  pins: PinService;
  app: express.Express;
  a: Bank;
  b: Bank;
  close(): Promise<void>;
}

export const bearer = (key: string): [string, string] => ["Authorization", `Bearer ${key}`];

export async function openAdmin(kind: StoreKind = "postgres"): Promise<AdminFixture> {
  const test = await openTestDb(kind, { maxConnections: 24 });
  const prisma = createPrisma(test.db, test.schema);
  const ledger = new Ledger(new SqlLedgerStore(test.db), { isRetryable: isRetryableSqlError });
  const audit = new SqlAuditLog(test.db);
  const directory = new Directory({ store: new PrismaDirectoryStore(prisma, test.db), ledger, audit });
  const simSwaps = new SimSwapGuard({ store: new SqlSimSwapStore(test.db) });
  // Cheap Argon2 parameters: these tests exercise the API, not the hash.
  const pins = new PinService({ store: new SqlPinStore(test.db), hasher: new Argon2PinHasher({ memoryCostKiB: 1024, timeCost: 1 }), audit, simSwap: simSwaps });
  const logger = createLogger("silent");
  const app = express();
  app.use(adminRouter({ db: test.db, ledger, logger, platformApiKey: PLATFORM_KEY, directory, pins, simSwaps }));
  app.use(createApp({ logger, checkDatabase: async () => undefined }));
  const a = await createBank(app, "bank-a", "KES", "Africa/Nairobi");
  const b = await createBank(app, "bank-b", "TZS", "Africa/Dar_es_Salaam");
  return {
    test, prisma, ledger, directory, pins, app, a, b,
    close: async () => {
      await ledger.close();
      await prisma.$disconnect();
      await test.cleanup();
    },
  };
}

async function createBank(app: express.Express, code: string, currency: string, timezone: string): Promise<Bank> {
  const created = await request(app).post("/admin/v1/institutions").set(...bearer(PLATFORM_KEY)).send({ code, name: code.toUpperCase(), currency, timezone });
  if (created.status !== 201) throw new Error(`fixture: institution ${created.status} ${JSON.stringify(created.body)}`);
  const id = created.body.id as string;
  const admin = await issueKey(app, PLATFORM_KEY, id, "admin");
  return { id, admin, operator: await issueKey(app, admin, id, "operator"), auditor: await issueKey(app, admin, id, "auditor") };
}

export async function issueKey(app: express.Express, by: string, institutionId: string, role: string): Promise<string> {
  const res = await request(app).post(`/admin/v1/institutions/${institutionId}/api-keys`).set(...bearer(by)).send({ name: `${role} key`, role });
  if (res.status !== 201) throw new Error(`fixture: key ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.secret as string;
}

export async function registerCustomer(f: AdminFixture, institutionId: string, msisdn: string): Promise<Customer> {
  const result = await f.directory.register({ actorType: "system", actorId: "test", channel: "system" }, { institutionId, msisdn, displayName: "Jane Wanjiru" });
  if (!result.ok) throw new Error(`fixture: register ${result.code}`);
  return result.value;
}

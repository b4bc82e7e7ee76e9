/** A directory over a fresh test database: real ledger, Prisma store, and an audit log that records. */
import { randomUUID } from "node:crypto";
import type { AuditEntryInput, AuditLog } from "../../src/core/audit/audit-entry.js";
import { Directory } from "../../src/core/directory/directory.js";
import type { ActionContext } from "../../src/core/directory/types.js";
import { Ledger } from "../../src/core/ledger/ledger.js";
import { PrismaDirectoryStore } from "../../src/infra/db/directory-store.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { createPrisma, type PrismaClient } from "../../src/infra/db/prisma.js";
import { isRetryableSqlError } from "../../src/infra/db/sql.js";
import { openTestDb, type StoreKind, type TestDb } from "../helpers/db.js";

/** The smallest AuditLog: the real hash chain is tested with src/core/audit. */
export class RecordingAudit implements AuditLog {
  readonly entries: AuditEntryInput[] = [];
  async append(entries: AuditEntryInput[]): Promise<void> {
    this.entries.push(...structuredClone(entries));
  }
}

export interface DirectoryFixture {
  test: TestDb;
  prisma: PrismaClient;
  ledger: Ledger;
  audit: RecordingAudit;
  directory: Directory;
  /** A KES institution whose default country is Kenya. */
  bankId: string;
  /** A TZS institution with no default country. */
  otherBankId: string;
  counts(): Promise<Record<Table, number>>;
  close(): Promise<void>;
}

export const SYSTEM: ActionContext = { actorType: "system", actorId: "test", channel: "system" };
export const asCustomer = (customerId: string): ActionContext => ({ actorType: "customer", actorId: customerId, channel: "ussd" });
export const asBanker = (institutionId: string): ActionContext => ({
  actorType: "bank_user",
  actorId: "bank-user-1",
  channel: "admin",
  institutionId,
});

export async function openDirectory(kind: StoreKind): Promise<DirectoryFixture> {
  const test = await openTestDb(kind, { maxConnections: 24 });
  const prisma = createPrisma(test.db, test.schema);
  const ledger = new Ledger(new SqlLedgerStore(test.db), { isRetryable: isRetryableSqlError });
  const audit = new RecordingAudit();
  const directory = new Directory({ store: new PrismaDirectoryStore(prisma, test.db), ledger, audit });
  const bankId = randomUUID();
  const otherBankId = randomUUID();
  await test.db.query(
    `INSERT INTO institutions (id, code, name, currency) VALUES ($1, 'bank-ke', 'Bank KE', 'KES'), ($2, 'bank-tz', 'Bank TZ', 'TZS')`,
    [bankId, otherBankId],
  );
  const configured = await directory.setDefaultCountry(SYSTEM, bankId, "KE");
  if (!configured.ok) throw new Error(`fixture: ${configured.code}`);
  audit.entries.length = 0;
  return {
    test,
    prisma,
    ledger,
    audit,
    directory,
    bankId,
    otherBankId,
    counts: () => countRows(test),
    close: async () => {
      await ledger.close();
      await prisma.$disconnect();
      await test.cleanup();
    },
  };
}

const TABLES = ["customers", "customer_aliases", "payment_instruments", "accounts", "directory_settings"] as const;
type Table = (typeof TABLES)[number];

async function countRows(test: TestDb): Promise<Record<Table, number>> {
  const select = TABLES.map((t) => `(SELECT count(*)::int FROM ${t}) AS ${t}`).join(", ");
  const result = await test.db.query<Record<Table, number>>(`SELECT ${select}`);
  return result.rows[0]!;
}

/**
 * What the USSD tests of a failing database share: the core over a rig's schema reached through a
 * TCP proxy the test can shut, and a telco with a bank-paid tariff plan so sessions get metered.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { Ledger } from "../../src/core/ledger/ledger.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { isRetryableSqlError, PostgresDb } from "../../src/infra/db/sql.js";
import { SqlTariffStore } from "../../src/infra/db/tariff-store.js";
import { buildServices, type CoreServices } from "../../src/services.js";
import { TEST_DATABASE_URL } from "./db.js";
import { openTcpProxy, type TcpProxy } from "./tcp-proxy.js";
import type { UssdRig } from "./ussd-rig.js";

export type Cleanups = (() => Promise<unknown>)[];

/** A proxy to the test PostgreSQL (shut it to cut the database off). */
export function proxyToTestDb(): Promise<TcpProxy> {
  return openTcpProxy("127.0.0.1", Number(new URL(TEST_DATABASE_URL).port || 5432));
}

/**
 * The core over the rig's schema, through `proxy`. Its closing is pushed onto `cleanups`, to run
 * after the rig's close has drained every instance's hops.
 */
export function coreThroughProxy(rig: UssdRig, proxy: TcpProxy, cleanups: Cleanups): { services: CoreServices; ledger: Ledger } {
  const db = new PostgresDb({ connectionString: proxy.url(TEST_DATABASE_URL), schema: rig.test.schema, maxConnections: 4 });
  const ledger = new Ledger(new SqlLedgerStore(db), { isRetryable: isRetryableSqlError });
  const services = buildServices(db, ledger, { schema: rig.test.schema, pinKey: rig.pinKey });
  cleanups.push(async () => {
    await ledger.close().catch(() => undefined);
    await services.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    await proxy.close().catch(() => undefined);
  });
  return { services, ledger };
}

/** A telco on network 63902 (unknown networks bill to it too) with a bank-paid plan in effect since a minute ago. */
export async function addBankPaidPlan(rig: UssdRig, price: { perSessionMinor: bigint; perStageMinor: bigint }): Promise<void> {
  const tariffs = new SqlTariffStore(rig.test.db);
  const telcoId = randomUUID();
  const since = new Date(Date.now() - 60_000);
  await tariffs.insertTelco({ id: telcoId, code: `telco-${randomBytes(3).toString("hex")}`, name: "Test Telco", networkCodes: ["63902"], smppLinkIds: [], createdAt: since }, []);
  await tariffs.insertPlan(
    { id: randomUUID(), telcoId, name: "per stage", currency: "KES", ...price, ceilingMinor: 1_000n, maxStages: 100, payer: "bank", effectiveFrom: since, createdAt: since, updatedAt: since },
    [],
  );
}

// A customer whose month is used up while their day still has room is refused over real PostgreSQL
// (the quote's early answer and the ledger's decision) as over the monthly limit, so that the menu
// says the month is used up: told "reached your limit for today", they came back tomorrow in vain.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Customer } from "../../src/core/directory/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { Ledger } from "../../src/core/ledger/ledger.js";
import type { LimitPolicy } from "../../src/core/limits/types.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { isRetryableSqlError } from "../../src/infra/db/sql.js";
import { refusalMessage } from "../../src/menus/refusals.js";
import { buildServices, type CoreServices } from "../../src/services.js";
import { openKenyanInstitution, registerWithPin } from "../helpers/core-setup.js";
import { openTestDb, type TestDb } from "../helpers/db.js";

// The day may take a whole payment of 100,000; the month only 150,000.
const POLICY: LimitPolicy = {
  maxPerTransactionMinor: 100_000n,
  maxDailyAmountMinor: 100_000n,
  maxDailyCount: 10,
  maxMonthlyAmountMinor: 150_000n,
  maxBalanceMinor: 10_000_000n,
};

describe("a month used up before the day (postgres)", () => {
  let test: TestDb;
  let ledger: Ledger;
  let services: CoreServices;
  let payer: Customer;
  let payee: Customer;
  let clock = new Date("2026-11-02T09:00:00Z");

  const send = (amountMinor: bigint) =>
    services.payments.sendP2P({ payerCustomerId: payer.id, payee: payee.msisdn, amountMinor, channel: "ussd", paymentId: uuidv7(), pin: "4827" });
  const quote = (amountMinor: bigint) => services.payments.quoteP2P({ payerCustomerId: payer.id, payee: payee.msisdn, amountMinor, channel: "ussd" });
  const told = (r: { code?: string; availableMinor?: bigint }) =>
    refusalMessage(r.code ?? "", { remainingMinor: r.availableMinor, currency: "KES", sending: true }).key;

  beforeAll(async () => {
    test = await openTestDb("postgres");
    ledger = new Ledger(new SqlLedgerStore(test.db), { isRetryable: isRetryableSqlError, now: () => clock });
    services = buildServices(test.db, ledger, { schema: test.schema, clock: () => clock });
    const { institutionId, bankAccountId } = await openKenyanInstitution(test.db, services, ledger, "month-ke", "Month KE");
    payer = await registerWithPin(services, institutionId, { msisdn: "+254712670001", name: "Wanjiku Month", pin: "4827" });
    payee = await registerWithPin(services, institutionId, { msisdn: "+254712670002", name: "Mutua Month", pin: "5903" });
    await ledger.transfer({ id: uuidv7(), debitAccountId: bankAccountId, creditAccountId: payer.walletAccountId, amountMinor: 1_000_000n, code: "cash_in" });
    await services.limits.put({ institutionId, channel: "ussd", tier: 0 }, POLICY, clock, () => []);
  });
  afterAll(async () => {
    await ledger.close();
    await services.close();
    await test.cleanup();
  });

  it("names the monthly limit, with nothing available, before the PIN and after it", async () => {
    expect(await send(100_000n)).toMatchObject({ ok: true });
    clock = new Date("2026-11-03T09:00:00Z");
    expect(await send(50_000n)).toMatchObject({ ok: true });
    // Today: 50,000 sent of 100,000. This month: 150,000 of 150,000.
    const quoted = await quote(60_000n);
    expect(quoted).toMatchObject({ ok: false, code: "monthly_amount_exceeded", availableMinor: 0n });
    expect(told(quoted as { code: string; availableMinor?: bigint })).toBe("err.limit_reached_month");
    const sent = await send(60_000n);
    expect(sent).toMatchObject({ ok: false, code: "monthly_amount_exceeded", availableMinor: 0n });
    expect(told(sent as { code: string; availableMinor?: bigint })).toBe("err.limit_reached_month");
    // The day's own limit is still named when it is the one in the way.
    clock = new Date("2026-12-01T09:00:00Z");
    expect(await send(100_000n)).toMatchObject({ ok: true });
    expect(await quote(1n)).toMatchObject({ ok: false, code: "daily_amount_exceeded", availableMinor: 0n });
  });
});

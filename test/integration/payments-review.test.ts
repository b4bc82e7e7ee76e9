// Person-to-person payments and the directory as a fresh review found them, over real PostgreSQL:
// the payee's receipt carries the payer's name cut to fit one SMS, and the cut must leave
// well-formed text; a pseudonym may not read as a phone number, letters passing for digits.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Customer } from "../../src/core/directory/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { Ledger } from "../../src/core/ledger/ledger.js";
import { isRetryableSqlError } from "../../src/infra/db/sql.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { buildServices, type CoreServices } from "../../src/services.js";
import { openKenyanInstitution, registerWithPin, SYSTEM } from "../helpers/core-setup.js";
import { openTestDb, type TestDb } from "../helpers/db.js";

// Adlam (written for Fula across West Africa) lies outside the BMP: two UTF-16 units a letter.
const ADLAM = (from: number, n: number) => Array.from({ length: n }, (_, i) => String.fromCodePoint(0x1e922 + ((from + i) % 34))).join("");

describe("payments review on postgres", () => {
  let test: TestDb;
  let ledger: Ledger;
  let services: CoreServices;
  let institutionId: string;
  let bankAccountId: string;
  let payee: Customer;

  const fund = (accountId: string, amountMinor: bigint) =>
    ledger.transfer({ id: uuidv7(), debitAccountId: bankAccountId, creditAccountId: accountId, amountMinor, code: "cash_in" });

  beforeAll(async () => {
    test = await openTestDb("postgres");
    ledger = new Ledger(new SqlLedgerStore(test.db), { isRetryable: isRetryableSqlError });
    services = buildServices(test.db, ledger, { schema: test.schema });
    ({ institutionId, bankAccountId } = await openKenyanInstitution(test.db, services, ledger, "payrev-ke", "Pay Review KE"));
    payee = await registerWithPin(services, institutionId, { msisdn: "+254712730001", name: "Otieno Kamau", pin: "5903" });
  });
  afterAll(async () => {
    await ledger.close();
    await services.close();
    await test.cleanup();
  });

  it("pays from a payer whose long name in an astral script is cut for the receipt between letters, never inside one", async () => {
    // Five letters and a space put the 40th UTF-16 unit inside a letter: a cut there left half of
    // it, which PostgreSQL's JSON refuses, and every payment of this payer failed.
    const name = `${ADLAM(0, 5)} ${ADLAM(5, 20)}`;
    const payer = await registerWithPin(services, institutionId, { msisdn: "+254712730002", name, pin: "4827" });
    await fund(payer.walletAccountId, 5_000n);
    const paymentId = uuidv7();
    const sent = await services.payments.sendP2P({ payerCustomerId: payer.id, payee: payee.msisdn, amountMinor: 1_000n, channel: "ussd", paymentId, pin: "4827" });
    expect(sent).toMatchObject({ ok: true });
    const rows = await test.db.query<{ params: { name: string } }>("SELECT params FROM outbox_messages WHERE msisdn = $1 AND template = 'receipt.p2p_received'", [payee.msisdn]);
    const cut = rows.rows[0]!.params.name;
    expect(cut).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/); // no half letter
    expect(cut.length).toBeLessThanOrEqual(40);
    expect(name.startsWith(cut)).toBe(true);
    expect(cut.length).toBeGreaterThanOrEqual(38);
  });

  it("refuses a pseudonym that reads as a phone number, letters passing for digits (O for 0, l or I for 1)", async () => {
    const owner = await registerWithPin(services, institutionId, { msisdn: "+254712730003", name: "Akinyi Odhiambo", pin: "6194" });
    // Told "send to O712730001" (or sent it by SMS), a payer pays whoever claimed it, not 0712730001.
    for (const alias of ["O712730001", "o7127-30001", "l254712730001", "I254.712.730.001"]) {
      expect(await services.directory.claimAlias(SYSTEM, owner.id, alias)).toEqual({ ok: false, code: "alias_looks_like_phone_number" });
    }
    // Names that merely hold an o, an l or a digit stay free.
    for (const alias of ["oli.2024", "lolo7"]) {
      expect(await services.directory.claimAlias(SYSTEM, owner.id, alias)).toMatchObject({ ok: true });
    }
  });

  it("a payer naming an instrument not theirs under another payer's posted payment id is refused, never told that payment as theirs", async () => {
    const first = await registerWithPin(services, institutionId, { msisdn: "+254712730004", name: "Wanjiku Njeri", pin: "7315" });
    const other = await registerWithPin(services, institutionId, { msisdn: "+254712730005", name: "Kiprono Bett", pin: "8426" });
    await fund(first.walletAccountId, 5_000n);
    await fund(other.walletAccountId, 5_000n);
    const paymentId = uuidv7();
    const pay = (payer: Customer, pin: string, fromInstrumentId?: string) =>
      services.payments.sendP2P({ payerCustomerId: payer.id, payee: payee.msisdn, amountMinor: 1_000n, channel: "ussd", paymentId, pin, ...(fromInstrumentId ? { fromInstrumentId } : {}) });
    expect(await pay(first, "7315")).toMatchObject({ ok: true, replayed: false });
    // The retry path for an instrument removed since read the posted payment's source account
    // whoever asked: the other payer was answered "sent" for the first payer's money.
    expect(await pay(other, "8426", uuidv7())).toEqual({ ok: false, code: "instrument_not_found" });
    expect((await ledger.getAccount(other.walletAccountId))!.debitsPosted).toBe(0n);
  });
});

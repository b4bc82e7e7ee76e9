// A P2P payment carries its two SMS receipts (payer and payee) into the ledger with the transfer,
// so that the ledger can write them to the outbox in the transaction that accepts it. The real
// ledger runs underneath; the test only records what Payments hands it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { Ledger } from "../../src/core/ledger/ledger.js";
import type { TransferInput } from "../../src/core/ledger/types.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { checkNotice } from "../../src/infra/db/outbox-store.js";
import { isRetryableSqlError } from "../../src/infra/db/sql.js";
import { encodeSms } from "../../src/sms/encoding.js";
import { createNoticeRenderer } from "../../src/sms/outbox/renderer.js";
import { buildServices, type CoreServices } from "../../src/services.js";
import { openKenyanInstitution, registerWithPin } from "../helpers/core-setup.js";
import { openTestDb, type TestDb } from "../helpers/db.js";
import { containsPin } from "../helpers/pin-leak.js";

describe("P2P receipts", () => {
  let test: TestDb;
  let ledger: Ledger;
  let services: CoreServices;
  const groups: TransferInput[][] = [];
  let payerId = "";

  beforeAll(async () => {
    test = await openTestDb("postgres", { maxConnections: 24 });
    ledger = new Ledger(new SqlLedgerStore(test.db), { isRetryable: isRetryableSqlError });
    const submitLinked = ledger.submitLinked.bind(ledger);
    ledger.submitLinked = (group) => {
      groups.push(group);
      return submitLinked(group);
    };
    services = buildServices(test.db, ledger, { schema: test.schema });
    const { institutionId, bankAccountId } = await openKenyanInstitution(test.db, services, ledger, "rcpt-ke", "Rcpt KE");
    const payer = await registerWithPin(services, institutionId, { msisdn: "0712345670", name: "Jane Wanjiru", pin: "4827", language: "en" });
    await registerWithPin(services, institutionId, { msisdn: "0712345671", name: "Otieno Kamau", pin: "4827", language: "sw" });
    payerId = payer.id;
    await ledger.transfer({ id: uuidv7(), debitAccountId: bankAccountId, creditAccountId: payer.walletAccountId, amountMinor: 1_000_000n, code: "cash_in" });
    await services.fees.put(institutionId, "p2p", { type: "p2p", agentShareBps: 0, bands: [{ minMinor: 1n, maxMinor: 10_000_000n, feeMinor: 2_500n }] }, new Date(), () => []);
  });

  afterAll(async () => {
    await ledger.close();
    await services.close();
    await test.cleanup();
  });

  it("attaches the payer's and the payee's receipt, in their languages, without the PIN", async () => {
    const paymentId = uuidv7();
    const result = await services.payments.sendP2P({ payerCustomerId: payerId, payee: "+254712345671", amountMinor: 150_050n, channel: "ussd", paymentId, pin: "4827" });
    expect(result).toMatchObject({ ok: true });
    const notices = groups.at(-1)![0]!.notices!;
    const ref = paymentId.replace(/-/g, "").slice(-10).toUpperCase();
    expect(notices).toEqual([
      { msisdn: "+254712345670", template: "receipt.p2p_sent", kind: "receipt", language: "en", params: { amountMinor: "150050", feeMinor: "2500", currency: "KES", name: "OTIENO K***", ref } },
      { msisdn: "+254712345671", template: "receipt.p2p_received", kind: "receipt", language: "sw", params: { amountMinor: "150050", currency: "KES", name: "Jane Wanjiru", ref } },
    ]);
    for (const n of notices) expect(() => checkNotice(n)).not.toThrow();
    expect(containsPin(JSON.stringify(notices), "4827")).toBe(false);
    const renderer = createNoticeRenderer();
    const texts = notices.map((n) => renderer.render(n.template, n.params, n.language ?? null));
    expect(texts).toEqual([`Sent KES 1,500.50 to OTIENO K***. Fee KES 25.00. Ref ${ref}.`, `Umepokea Ksh 1,500.50 kutoka kwa Jane Wanjiru. Kumb ${ref}.`]);
    for (const text of texts) expect(encodeSms(text, { reference: 0 })).toMatchObject({ dataCoding: 0, udhi: false });
  });

  it("a refused payment (wrong PIN) reaches no ledger and carries no receipt", async () => {
    const before = groups.length;
    const result = await services.payments.sendP2P({ payerCustomerId: payerId, payee: "+254712345671", amountMinor: 100n, channel: "ussd", paymentId: uuidv7(), pin: "1111" });
    expect(result).toMatchObject({ ok: false, code: "pin_wrong" });
    expect(groups.length).toBe(before);
  });
});

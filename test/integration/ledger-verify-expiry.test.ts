// The expiry sweep finds due pendings through pending_timeouts, a mutable work list: a pending
// whose row is gone is never voided (the customer's funds stay held for good), and a row left for
// a pending already settled is refused at every sweep. `fingate ledger verify` names both.
import { beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { verifyLedger } from "../../src/infra/db/ledger-verify.js";
import { useLedgerEnv } from "../helpers/ledger-setup.js";

describe("ledger verify and the expiry work list on postgres", () => {
  const env = useLedgerEnv("postgres");
  const holdId = uuidv7();
  const settledId = uuidv7();

  beforeAll(async () => {
    const payer = await env.wallet(1_000n);
    const payee = await env.wallet(0n);
    const hold = (id: string) => ({ id, kind: "pending" as const, debitAccountId: payer.id, creditAccountId: payee.id, amountMinor: 100n, timeoutSec: 600, code: "cash_out" });
    expect((await env.ledger.transfer(hold(holdId))).result).toBe("ok");
    expect((await env.ledger.transfer(hold(settledId))).result).toBe("ok");
    expect((await env.ledger.transfer({ id: uuidv7(), kind: "post", pendingId: settledId, code: "cash_out" })).result).toBe("ok");
    expect(await verifyLedger(env.db)).toMatchObject({ ok: true, violations: [] });
  });

  it("names an open pending that is off the expiry work list", async () => {
    const row = await env.db.query<{ expires_at: Date }>("SELECT expires_at FROM pending_timeouts WHERE transfer_id = $1", [holdId]);
    await env.db.query("DELETE FROM pending_timeouts WHERE transfer_id = $1", [holdId]);
    const report = await verifyLedger(env.db);
    expect(report.ok).toBe(false);
    expect(report.violations).toEqual([expect.stringMatching(new RegExp(`pending ${holdId} .*not on the expiry work list`))]);
    await env.db.query("INSERT INTO pending_timeouts (transfer_id, expires_at) VALUES ($1, $2)", [holdId, row.rows[0]!.expires_at]);
    expect((await verifyLedger(env.db)).ok).toBe(true);
  });

  it("names a pending whose work-list expiry is not its own", async () => {
    await env.db.query("UPDATE pending_timeouts SET expires_at = expires_at + interval '30 days' WHERE transfer_id = $1", [holdId]);
    expect((await verifyLedger(env.db)).violations).toEqual([expect.stringMatching(new RegExp(`pending ${holdId} .*not on the expiry work list`))]);
    await env.db.query("UPDATE pending_timeouts SET expires_at = expires_at - interval '30 days' WHERE transfer_id = $1", [holdId]);
    expect((await verifyLedger(env.db)).ok).toBe(true);
  });

  it("names a work-list row of a pending already settled", async () => {
    await env.db.query("INSERT INTO pending_timeouts (transfer_id, expires_at) VALUES ($1, now())", [settledId]);
    const report = await verifyLedger(env.db);
    expect(report.ok).toBe(false);
    expect(report.violations).toEqual([expect.stringMatching(new RegExp(`${settledId} .*names no open pending`))]);
    await env.db.query("DELETE FROM pending_timeouts WHERE transfer_id = $1", [settledId]);
    expect((await verifyLedger(env.db)).ok).toBe(true);
  });
});

// A pending's timeout and expiry are stored content the ledger acts on (a post after expires_at
// is refused, the sweep voids it then): `fingate audit verify` must notice either changed behind
// the ledger's back (triggers disabled), as it does for the amount or the accounts.
import { beforeAll, describe, expect, it } from "vitest";
import { digestOf, LEDGER_BATCH_ACTION, transferDigestLine } from "../../src/core/ledger/audit-digest.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { appendAuditEntries } from "../../src/infra/db/audit-store.js";
import { verifyLedgerAgainstAudit } from "../../src/infra/db/ledger-audit-verify.js";
import { STORE_KINDS } from "../helpers/db.js";
import { useLedgerEnv } from "../helpers/ledger-setup.js";

describe.each(STORE_KINDS)("ledger audit binding of a pending's expiry on %s", (kind) => {
  const env = useLedgerEnv(kind);
  const holdId = uuidv7();

  /** Runs sql with triggers off, as someone with the database's superuser could. */
  const behindTheLedger = (sql: string) =>
    env.db.transaction(async (tx) => {
      await tx.query("SET LOCAL session_replication_role = replica");
      await tx.query(sql, [holdId]);
    });

  beforeAll(async () => {
    const payer = await env.wallet(1_000n);
    const payee = await env.wallet(0n);
    const hold = { id: holdId, kind: "pending" as const, debitAccountId: payer.id, creditAccountId: payee.id, amountMinor: 400n, timeoutSec: 300, code: "cash_out" };
    expect((await env.ledger.transfer(hold)).result).toBe("ok");
    expect(await verifyLedgerAgainstAudit(env.db)).toMatchObject({ ok: true, problems: [] });
  });

  it.each([
    ["its expiry pushed back a day (a hold the customer can no longer escape)", "expires_at = expires_at + interval '1 day'", "expires_at = expires_at - interval '1 day'"],
    ["its timeout changed", "timeout_sec = timeout_sec + 1", "timeout_sec = timeout_sec - 1"],
  ])("reports a pending with %s", async (_what, change, undo) => {
    await behindTheLedger(`UPDATE transfers SET ${change} WHERE id = $1`);
    const report = await verifyLedgerAgainstAudit(env.db);
    expect(report.ok).toBe(false);
    expect(report.problems[0]).toMatch(/audit entry \d+: its transfers no longer match their digest/);
    await behindTheLedger(`UPDATE transfers SET ${undo} WHERE id = $1`);
    expect((await verifyLedgerAgainstAudit(env.db)).ok).toBe(true);
  });

  it("still verifies entries written in the first digest format (no v), and still catches a change they cover", async () => {
    const payer = await env.wallet(100n);
    const payee = await env.wallet(0n);
    const id = uuidv7();
    const at = new Date("2026-11-20T10:00:00.000Z");
    const old = { id, kind: "single" as const, debitAccountId: payer.id, creditAccountId: payee.id, amountMinor: 5n, currency: "KES", pendingId: null, timeoutSec: null, expiresAt: null, code: "p2p", reference: null, createdAt: at };
    // As the ledger wrote a batch before the format had a version: the row and its entry, in one transaction.
    await env.db.transaction(async (tx) => {
      await tx.query("SET LOCAL session_replication_role = replica");
      await tx.query(
        "INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, currency, kind, code, created_at) VALUES ($1, $2, $3, 5, 'KES', 'single', 'p2p', $4)",
        [id, payer.id, payee.id, at.toISOString()],
      );
      await tx.query("UPDATE accounts SET debits_posted = debits_posted + 5 WHERE id = $1", [payer.id]);
      await tx.query("UPDATE accounts SET credits_posted = credits_posted + 5 WHERE id = $1", [payee.id]);
      const payload = { digest: digestOf([transferDigestLine(old, at.toISOString(), 1)]), failures: [], transfers: [id] };
      await appendAuditEntries(tx, [{ actorType: "system", actorId: "ledger", action: LEDGER_BATCH_ACTION, channel: "system", outcome: "ok", payload }], at);
    });
    expect(await verifyLedgerAgainstAudit(env.db)).toMatchObject({ ok: true, problems: [] });
    const behind = (sql: string) => env.db.transaction(async (tx) => {
      await tx.query("SET LOCAL session_replication_role = replica");
      await tx.query(sql, [id]);
    });
    await behind("UPDATE transfers SET amount = 6 WHERE id = $1");
    expect((await verifyLedgerAgainstAudit(env.db)).problems[0]).toMatch(/its transfers no longer match their digest/);
    await behind("UPDATE transfers SET amount = 5 WHERE id = $1");
    expect((await verifyLedgerAgainstAudit(env.db)).ok).toBe(true);
  });
});

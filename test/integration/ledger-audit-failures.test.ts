// Recorded refusals are ledger state too: a retry of a refused id is answered from its row instead
// of moving money later. `fingate audit verify` must notice one removed, forged or altered behind
// the ledger's back (with the append-only trigger disabled), as it does for transfers.
import { beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import type { Account } from "../../src/core/ledger/types.js";
import { verifyLedgerAgainstAudit } from "../../src/infra/db/ledger-audit-verify.js";
import { useLedgerEnv } from "../helpers/ledger-setup.js";

describe("ledger audit binding of recorded failures on postgres", () => {
  const env = useLedgerEnv("postgres");
  let from: Account;
  let to: Account;
  let refusedId: string;

  /** Runs sql with triggers off, as someone with the database's superuser could. */
  const behindTheLedger = (sql: string, values: unknown[]) =>
    env.db.transaction(async (tx) => {
      await tx.query("SET LOCAL session_replication_role = replica");
      await tx.query(sql, values);
    });

  beforeAll(async () => {
    from = await env.wallet(100n);
    to = await env.wallet(0n);
    refusedId = uuidv7();
    const refused = await env.ledger.transfer({ id: refusedId, debitAccountId: from.id, creditAccountId: to.id, amountMinor: 500n, code: "p2p" });
    expect(refused.result).toBe("exceeds_credits");
    expect(await verifyLedgerAgainstAudit(env.db)).toMatchObject({ ok: true, problems: [] });
  });

  it("reports a recorded refusal deleted (its retry would then move money)", async () => {
    const row = await env.db.query("SELECT * FROM transfer_failures WHERE id = $1", [refusedId]);
    await behindTheLedger("DELETE FROM transfer_failures WHERE id = $1", [refusedId]);
    const report = await verifyLedgerAgainstAudit(env.db);
    expect(report.ok).toBe(false);
    expect(report.problems[0]).toMatch(new RegExp(`audit entry \\d+ names missing failure ${refusedId}`));
    const r = row.rows[0] as Record<string, unknown>;
    await behindTheLedger(
      "INSERT INTO transfer_failures (id, result, kind, debit_account_id, credit_account_id, amount, pending_id, created_at, limit_party) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
      [r.id, r.result, r.kind, r.debit_account_id, r.credit_account_id, r.amount, r.pending_id, r.created_at, r.limit_party],
    );
    expect((await verifyLedgerAgainstAudit(env.db)).ok).toBe(true);
  });

  it("reports a recorded refusal whose result was changed", async () => {
    await behindTheLedger("UPDATE transfer_failures SET result = 'debit_account_frozen' WHERE id = $1", [refusedId]);
    const report = await verifyLedgerAgainstAudit(env.db);
    expect(report.ok).toBe(false);
    expect(report.problems[0]).toMatch(/audit entry \d+: its failures no longer match/);
    await behindTheLedger("UPDATE transfer_failures SET result = 'exceeds_credits' WHERE id = $1", [refusedId]);
    expect((await verifyLedgerAgainstAudit(env.db)).ok).toBe(true);
  });

  it("reports a refusal recorded without going through the ledger (a transfer refused ahead of its time)", async () => {
    await env.db.query(
      "INSERT INTO transfer_failures (id, result, kind, debit_account_id, credit_account_id, amount, created_at) VALUES ($1, 'exceeds_credits', 'single', $2, $3, 5, now())",
      [uuidv7(), from.id, to.id],
    );
    const report = await verifyLedgerAgainstAudit(env.db);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual(["1 recorded failure(s) are not covered by any ledger.batch audit entry"]);
  });
});

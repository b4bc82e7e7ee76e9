// The ledger and the audit chain are bound together: every batch chains an entry with a digest of
// its transfers, so a transfer changed or slipped in behind the ledger's back is caught.
import { beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import type { Account } from "../../src/core/ledger/types.js";
import { verifyAuditChain } from "../../src/infra/db/audit-store.js";
import { verifyLedgerAgainstAudit } from "../../src/infra/db/ledger-audit-verify.js";
import { STORE_KINDS } from "../helpers/db.js";
import { useLedgerEnv } from "../helpers/ledger-setup.js";

describe.each(STORE_KINDS)("ledger audit binding on %s", (kind) => {
  const env = useLedgerEnv(kind);
  let wallets: Account[];

  beforeAll(async () => {
    wallets = await Promise.all([1, 2, 3].map(() => env.wallet(100n)));
    // Enough concurrent transfers to make several batches, some refused (recorded failures).
    const moves = Array.from({ length: 300 }, (_, i) => ({
      id: uuidv7(),
      debitAccountId: wallets[i % 3]!.id,
      creditAccountId: wallets[(i + 1) % 3]!.id,
      amountMinor: BigInt(1 + (i % 50)) * 10n,
      code: "p2p",
    }));
    const results = await Promise.all(moves.map((t) => env.ledger.transfer(t)));
    expect(results.some((r) => r.result === "exceeds_credits")).toBe(true);
  });

  it("chains an entry per batch whose digests cover every transfer", async () => {
    const chain = await verifyAuditChain(env.db);
    expect(chain.ok).toBe(true);
    const report = await verifyLedgerAgainstAudit(env.db);
    const count = await env.db.query<{ n: number }>("SELECT count(*)::int AS n FROM transfers");
    expect(report).toMatchObject({ ok: true, problems: [] });
    expect(report.covered).toBe(count.rows[0]!.n);
    expect(report.transfers).toBe(count.rows[0]!.n);
    const failures = await env.db.query<{ n: number }>("SELECT count(*)::int AS n FROM transfer_failures");
    const named = await env.db.query<{ n: number }>(
      "SELECT coalesce(sum(jsonb_array_length(payload->'failures')), 0)::int AS n FROM audit_log WHERE action = 'ledger.batch'",
    );
    expect(named.rows[0]!.n).toBe(failures.rows[0]!.n);
  });

  it.runIf(kind === "postgres")("names the entry of a transfer edited behind the ledger's back", async () => {
    const victim = await env.db.query<{ id: string }>("SELECT id FROM transfers WHERE code = 'p2p' ORDER BY seq LIMIT 1");
    await env.db.transaction(async (tx) => {
      await tx.query("SET LOCAL session_replication_role = replica");
      await tx.query("UPDATE transfers SET amount = amount + 1 WHERE id = $1", [victim.rows[0]!.id]);
    });
    const report = await verifyLedgerAgainstAudit(env.db);
    expect(report.ok).toBe(false);
    expect(report.problems[0]).toMatch(/audit entry \d+: its transfers no longer match their digest/);
    await env.db.transaction(async (tx) => {
      await tx.query("SET LOCAL session_replication_role = replica");
      await tx.query("UPDATE transfers SET amount = amount - 1 WHERE id = $1", [victim.rows[0]!.id]);
    });
    expect((await verifyLedgerAgainstAudit(env.db)).ok).toBe(true);
  });

  it("reports a transfer inserted without going through the ledger", async () => {
    await env.db.query(
      `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, currency, kind, code, created_at)
       VALUES ($1, $2, $3, 5, 'KES', 'single', 'forged', now())`,
      [uuidv7(), env.bank.id, wallets[0]!.id],
    );
    const report = await verifyLedgerAgainstAudit(env.db);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual(["1 transfer(s) are not covered by any ledger.batch audit entry"]);
  });
});

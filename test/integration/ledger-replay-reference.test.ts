// The same transfer id with different content is refused, never answered `exists`: the reference
// is stored content too (receipts, statements, the audit digest), so a retry that names another
// reference is another request reusing the id, not the first one again.
import { describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { STORE_KINDS } from "../helpers/db.js";
import { useLedgerEnv } from "../helpers/ledger-setup.js";

describe.each(STORE_KINDS)("a replay with another reference on %s", (kind) => {
  const env = useLedgerEnv(kind);

  it("is refused as exists_with_different_reference and moves nothing", async () => {
    const payer = await env.wallet(1_000n);
    const payee = await env.wallet(0n);
    const t = { id: uuidv7(), debitAccountId: payer.id, creditAccountId: payee.id, amountMinor: 300n, code: "float_top_up", reference: "slip-0001" };
    expect((await env.ledger.transfer(t)).result).toBe("ok");
    expect((await env.ledger.transfer({ ...t })).result).toBe("exists");
    expect((await env.ledger.transfer({ ...t, reference: "slip-0002" })).result).toBe("exists_with_different_reference");
    expect((await env.ledger.transfer({ ...t, reference: undefined })).result).toBe("exists_with_different_reference");
    // Through the other writer too (the locked path, which reads the stored row).
    expect((await env.newLedger().transfer({ ...t, reference: "slip-0002" })).result).toBe("exists_with_different_reference");
    const [stored] = await env.ledger.getAccounts([payee.id]);
    expect(stored!.creditsPosted).toBe(300n);
  });

  it("still answers exists to a post or void retried without a reference", async () => {
    const payer = await env.wallet(1_000n);
    const payee = await env.wallet(0n);
    const hold = { id: uuidv7(), kind: "pending" as const, debitAccountId: payer.id, creditAccountId: payee.id, amountMinor: 50n, code: "cash_out", reference: "req-1" };
    expect((await env.ledger.transfer(hold)).result).toBe("ok");
    expect((await env.ledger.transfer({ ...hold })).result).toBe("exists");
    const settle = { id: uuidv7(), kind: "post" as const, pendingId: hold.id, code: "cash_out" };
    expect((await env.ledger.transfer(settle)).result).toBe("ok");
    expect((await env.ledger.transfer({ ...settle })).result).toBe("exists");
  });
});

// Ledger.abandon settles a transfer id whose submission's outcome is unknown: an id not in the
// ledger is recorded as refused (transfer_abandoned) and can never post, a posted one is answered
// as posted, a recorded refusal as refused. Its row is audited like every recorded refusal. On both
// stores (PostgreSQL's cached and locked paths, PGlite's transaction).
import { describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { verifyLedgerAgainstAudit } from "../../src/infra/db/ledger-audit-verify.js";
import { verifyLedger } from "../../src/infra/db/ledger-verify.js";
import { useLedgerEnv } from "../helpers/ledger-setup.js";

for (const kind of ["postgres", "pglite"] as const) {
  describe(`Ledger.abandon on ${kind}`, () => {
    const env = useLedgerEnv(kind);
    const balance = async (id: string) => {
      const a = await env.ledger.getAccount(id);
      return a!.creditsPosted - a!.debitsPosted - a!.debitsPending;
    };

    it("refuses an id never written for good: a later transfer of it moves nothing", async () => {
      const from = await env.wallet(1_000n);
      const to = await env.wallet(0n);
      const id = uuidv7();
      expect(await env.ledger.abandon(id)).toBe(true);
      const late = await env.ledger.transfer({ id, debitAccountId: from.id, creditAccountId: to.id, amountMinor: 300n, code: "p2p" });
      expect(late.result).toBe("transfer_abandoned");
      expect(await balance(from.id)).toBe(1_000n);
      expect(await env.ledger.getTransfer(id)).toBeNull();
      expect(await env.ledger.abandon(id)).toBe(true);
    });

    it("answers false for an id that posted, and true for a recorded refusal", async () => {
      const from = await env.wallet(1_000n);
      const to = await env.wallet(0n);
      const sent = uuidv7();
      expect((await env.ledger.transfer({ id: sent, debitAccountId: from.id, creditAccountId: to.id, amountMinor: 300n, code: "p2p" })).result).toBe("ok");
      expect(await env.ledger.abandon(sent)).toBe(false);
      const short = uuidv7();
      expect((await env.ledger.transfer({ id: short, debitAccountId: from.id, creditAccountId: to.id, amountMinor: 5_000n, code: "p2p" })).result).toBe("exceeds_credits");
      expect(await env.ledger.abandon(short)).toBe(true);
      expect(await balance(from.id)).toBe(700n);
    });

    it("answers true for a member of a refused linked group (recorded as linked_event_failed): it never posts either", async () => {
      const from = await env.wallet(100n);
      const to = await env.wallet(0n);
      const first = { id: uuidv7(), debitAccountId: from.id, creditAccountId: to.id, amountMinor: 50n, code: "p2p" };
      const second = { id: uuidv7(), debitAccountId: from.id, creditAccountId: to.id, amountMinor: 60n, code: "p2p_fee" };
      expect((await env.ledger.submitLinked([first, second])).map((r) => r.result)).toEqual(["linked_event_failed", "exceeds_credits"]);
      expect(await env.ledger.abandon(first.id)).toBe(true);
      expect((await env.ledger.transfer(first)).result).not.toBe("ok");
      expect(await balance(from.id)).toBe(100n);
    });

    it("keeps the ledger and its audit consistent", async () => {
      expect((await verifyLedger(env.db)).violations).toEqual([]);
      expect(await verifyLedgerAgainstAudit(env.db)).toMatchObject({ ok: true, problems: [] });
    });
  });
}

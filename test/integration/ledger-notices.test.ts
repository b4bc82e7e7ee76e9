// Outbox rows written by the ledger's batch, on real PostgreSQL and on PGlite: only for accepted
// transfers, once per transfer however often or concurrently it is submitted, in its transaction.
import { describe, expect, it } from "vitest";
import { derivedUuid, uuidv7 } from "../../src/core/ledger/ids.js";
import type { Account, TransferInput } from "../../src/core/ledger/types.js";
import type { Notice } from "../../src/core/notices/types.js";
import { STORE_KINDS } from "../helpers/db.js";
import { useLedgerEnv } from "../helpers/ledger-setup.js";

interface OutboxRow {
  id: string;
  transfer_id: string;
  msisdn: string;
  template: string;
  params: Record<string, string>;
  language: string | null;
  kind: string;
  state: string;
}

describe.each(STORE_KINDS)("ledger outbox notices on %s", (kind) => {
  const env = useLedgerEnv(kind);

  const payer: Notice = { msisdn: "+254712345678", template: "receipt.p2p_sent", params: { amount: "500", to: "Bob \"B\" \\ O'Neil" }, kind: "receipt" };
  const payee: Notice = { msisdn: "+254700000001", template: "receipt.p2p_received", params: { amount: "500" }, language: "sw", kind: "receipt" };

  const move = (from: Account, to: Account, amountMinor: bigint, notices: Notice[] = [payer, payee]): TransferInput => ({
    id: uuidv7(),
    debitAccountId: from.id,
    creditAccountId: to.id,
    amountMinor,
    code: "p2p",
    notices,
  });

  async function outboxOf(transferIds: string[]): Promise<OutboxRow[]> {
    const result = await env.db.query<OutboxRow>(
      `SELECT id, transfer_id, msisdn, template, params, language, kind, state FROM outbox_messages
       WHERE transfer_id = ANY($1::uuid[]) ORDER BY seq`,
      [transferIds],
    );
    return result.rows;
  }

  it("writes an accepted transfer's notices with derived ids, and nothing again for a retry answered exists", async () => {
    const [a, b] = await Promise.all([env.wallet(1_000n), env.wallet(0n)]);
    const t = move(a, b, 500n);
    expect((await env.ledger.transfer(t)).result).toBe("ok");
    const expected = [payer, payee].map((n, i) => ({
      id: derivedUuid(`fingate:notice:${t.id}:${i}`),
      transfer_id: t.id,
      msisdn: n.msisdn,
      template: n.template,
      params: n.params,
      language: n.language ?? null,
      kind: n.kind,
      state: "pending",
    }));
    expect(await outboxOf([t.id])).toEqual(expected);
    // A retry, even one carrying other notices, is answered exists and writes nothing.
    expect((await env.ledger.transfer({ ...t, notices: [{ ...payer, template: "other" }] })).result).toBe("exists");
    expect(await outboxOf([t.id])).toEqual(expected);
  });

  it("writes nothing for a refused transfer, a failed linked group, or invalid notices", async () => {
    const [a, b] = await Promise.all([env.wallet(100n), env.wallet(0n)]);
    const refused = move(a, b, 101n);
    const group = [move(a, b, 50n), move(a, env.bank, 60n)];
    const invalid = move(a, b, 1n, [{ ...payer, msisdn: "0712345678" }]);
    expect((await env.ledger.transfer(refused)).result).toBe("exceeds_credits");
    expect((await env.ledger.submitLinked(group)).map((r) => r.result)).toEqual(["linked_event_failed", "exceeds_credits"]);
    expect((await env.ledger.transfer(invalid)).result).toBe("invalid_notices");
    expect(await outboxOf([refused.id, ...group.map((t) => t.id), invalid.id])).toEqual([]);
    const balances = await env.ledger.getAccount(a.id);
    expect(balances!.debitsPosted).toBe(0n);
  });

  it("writes one set of rows when the same transfer is submitted 20 times at once through two writers", async () => {
    const [a, b] = await Promise.all([env.wallet(1_000n), env.wallet(0n)]);
    const t = move(a, b, 300n);
    const other = env.newLedger();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? env.ledger : other).transfer({ ...t })));
    const codes = results.map((r) => r.result);
    expect(codes.filter((c) => c === "ok")).toHaveLength(1);
    expect(codes.filter((c) => c === "exists")).toHaveLength(19);
    const rows = await outboxOf([t.id]);
    expect(rows.map((r) => r.id)).toEqual([0, 1].map((i) => derivedUuid(`fingate:notice:${t.id}:${i}`)));
  });

  it("writes the notices of a batch mixing transfers with and without them", async () => {
    const [a, b] = await Promise.all([env.wallet(1_000n), env.wallet(0n)]);
    const mixed = [move(a, b, 1n), move(a, b, 2n, []), move(a, b, 3n, [payee])].map((t) => (t.notices!.length === 0 ? { ...t, notices: undefined } : t));
    const results = await Promise.all(mixed.map((t) => env.ledger.transfer(t)));
    expect(results.map((r) => r.result)).toEqual(["ok", "ok", "ok"]);
    const rows = await outboxOf(mixed.map((t) => t.id));
    expect(rows.map((r) => [r.transfer_id, r.msisdn]).sort()).toEqual(
      [
        [mixed[0]!.id, payer.msisdn],
        [mixed[0]!.id, payee.msisdn],
        [mixed[2]!.id, payee.msisdn],
      ].sort(),
    );
  });
});

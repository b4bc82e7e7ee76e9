// The notices a transfer carries: validated with the transfer (invalid_notices), and queued for
// the outbox by the batch decision only for transfers it accepts.
import { describe, expect, it } from "vitest";
import { decideBatch } from "../../src/core/ledger/decide.js";
import { derivedUuid } from "../../src/core/ledger/ids.js";
import { AccountFlags, type TransferInput } from "../../src/core/ledger/types.js";
import { validateTransfer } from "../../src/core/ledger/validate.js";
import { MAX_NOTICE_PARAM_CHARS } from "../../src/core/ledger/validate-notices.js";
import { MAX_NOTICES_PER_TRANSFER, type Notice } from "../../src/core/notices/types.js";
import { account, advance, id, post, single, snapshot, pending } from "../helpers/ledger-fixtures.js";

const NOW = new Date("2026-01-01T12:00:00.000Z");
const receipt: Notice = { msisdn: "+254712345678", template: "receipt.p2p_sent", params: { amount: "KES 5.00", to: "Bob" }, kind: "receipt" };
const withNotices = (t: TransferInput, notices: Notice[] = [receipt]): TransferInput => ({ ...t, notices });
const accounts = () => [account("alice", { flags: AccountFlags.debitsMustNotExceedCredits, creditsPosted: 1_000n }), account("bob"), account("bank")];

describe("validateTransfer: notices", () => {
  const good = single("n", "alice", "bob", 5n);

  it("accepts up to the maximum number of well-formed notices, with or without a language", () => {
    expect(validateTransfer(withNotices(good))).toBeNull();
    expect(validateTransfer(withNotices(good, Array.from({ length: MAX_NOTICES_PER_TRANSFER }, () => ({ ...receipt, language: "sw" }))))).toBeNull();
    expect(validateTransfer(withNotices(good, [{ ...receipt, params: {}, template: "t".repeat(64), kind: "prompt" }]))).toBeNull();
    expect(validateTransfer(withNotices(post("po", "p"), [{ ...receipt, kind: "notice", language: "fr-CD" }]))).toBeNull();
  });

  it.each<[string, unknown]>([
    ["an empty list", []],
    ["more than the maximum", Array.from({ length: MAX_NOTICES_PER_TRANSFER + 1 }, () => receipt)],
    ["not a list", receipt],
    ["a null notice", [null]],
    ["a local number", [{ ...receipt, msisdn: "0712345678" }]],
    ["a number with a leading zero after +", [{ ...receipt, msisdn: "+0712345678" }]],
    ["a number too long", [{ ...receipt, msisdn: "+1234567890123456" }]],
    ["an empty template", [{ ...receipt, template: "" }]],
    ["a 65-character template", [{ ...receipt, template: "t".repeat(65) }]],
    ["a number as a param value", [{ ...receipt, params: { amount: 5 } }]],
    ["a param value with a NUL (jsonb cannot hold it)", [{ ...receipt, params: { name: "Ann\u0000" } }]],
    ["a param key with half a surrogate pair", [{ ...receipt, params: { "n\uD800": "x" } }]],
    ["params that are a list", [{ ...receipt, params: ["a"] }]],
    ["missing params", [{ ...receipt, params: undefined }]],
    ["an unknown kind", [{ ...receipt, kind: "marketing" }]],
    ["a malformed language", [{ ...receipt, language: "English" }]],
    ["params beyond the size bound", [{ ...receipt, params: { text: "x".repeat(MAX_NOTICE_PARAM_CHARS) } }]],
    ["params beyond the bound only together", [1, 2, 3].map(() => ({ ...receipt, params: { text: "x".repeat(MAX_NOTICE_PARAM_CHARS / 3) } }))],
  ])("refuses %s with invalid_notices, after the reference and before the accounts", (_label, notices) => {
    expect(validateTransfer({ ...good, notices: notices as Notice[] })).toBe("invalid_notices");
    expect(validateTransfer({ ...good, debitAccountId: "x", notices: notices as Notice[] })).toBe("invalid_notices");
    expect(validateTransfer({ ...good, reference: "r".repeat(200), notices: notices as Notice[] })).toBe("invalid_reference");
  });
});

describe("decideBatch: notices", () => {
  it("queues the notices of an accepted transfer with ids derived from the transfer's, and its debit account's bank", () => {
    const t = withNotices(single("a", "alice", "bob", 5n), [receipt, { ...receipt, msisdn: "+254700000001", language: "sw", kind: "notice" }]);
    const bankOfAlice = "6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7";
    const decision = decideBatch(snapshot({ accounts: accounts().map((a) => (a.id === id("alice") ? { ...a, institutionId: bankOfAlice } : a)) }), [[t]], NOW);
    expect(decision.results[0]![0]!.result).toBe("ok");
    expect(decision.notices).toEqual([
      { id: derivedUuid(`fingate:notice:${t.id}:0`), transferId: t.id, institutionId: bankOfAlice, ...receipt, language: undefined },
      { id: derivedUuid(`fingate:notice:${t.id}:1`), transferId: t.id, institutionId: bankOfAlice, ...receipt, msisdn: "+254700000001", language: "sw", kind: "notice" },
    ]);
  });

  it("queues nothing for a retry answered exists, in the same batch or a later one", () => {
    const t = withNotices(single("b", "alice", "bob", 5n));
    const start = snapshot({ accounts: accounts() });
    const first = decideBatch(start, [[t], [t], [t, t]], NOW);
    expect(first.results.flat().map((r) => r.result)).toEqual(["ok", "exists", "exists", "exists"]);
    expect(first.notices!.map((n) => n.transferId)).toEqual([t.id]);
    const retry = decideBatch(advance(start, first), [[t]], NOW);
    expect(retry.results[0]![0]!.result).toBe("exists");
    expect(retry.notices).toEqual([]);
  });

  it("queues nothing for a refused transfer or any member of a failed linked group", () => {
    const overdraft = withNotices(single("c", "alice", "bob", 5_000n));
    const group = [withNotices(single("d1", "alice", "bob", 5n)), withNotices(single("d2", "alice", "bank", 2_000n))];
    const decision = decideBatch(snapshot({ accounts: accounts() }), [[overdraft], group], NOW);
    expect(decision.results.flat().map((r) => r.result)).toEqual(["exceeds_credits", "linked_event_failed", "exceeds_credits"]);
    expect(decision.notices).toEqual([]);
  });

  it("queues the notices of every member of a linked group that succeeds, and of a post", () => {
    const hold = pending("h", "alice", "bob", 50n);
    const group = [withNotices(single("e1", "alice", "bob", 5n)), withNotices(hold), withNotices(post("e3", "h"))];
    const decision = decideBatch(snapshot({ accounts: accounts() }), [group], NOW);
    expect(decision.results[0]!.map((r) => r.result)).toEqual(["ok", "ok", "ok"]);
    expect(decision.notices!.map((n) => n.transferId)).toEqual([id("e1"), id("h"), id("e3")]);
  });
});

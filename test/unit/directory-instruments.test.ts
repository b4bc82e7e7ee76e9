import { describe, expect, it } from "vitest";
import { accountFor, externalRefLast4, isCardNumber, isInstrumentKind } from "../../src/core/directory/instruments.js";
import { AccountFlags } from "../../src/core/ledger/types.js";

describe("externalRefLast4", () => {
  it("keeps only the last four characters", () => {
    expect(externalRefLast4("card", "4111 1111 1111 1111", "KE")).toEqual({ ok: true, value: "1111" });
    expect(externalRefLast4("card", "5555-5555-5555-4444", null)).toEqual({ ok: true, value: "4444" });
    expect(externalRefLast4("bank_account", "0123456789", "KE")).toEqual({ ok: true, value: "6789" });
    expect(externalRefLast4("bank_account", "GB82 WEST 1234 5698 7654 32", null)).toEqual({ ok: true, value: "5432" });
    expect(externalRefLast4("e_money", "acct-00ab", null)).toEqual({ ok: true, value: "00AB" });
    expect(externalRefLast4("mobile_money", "0712 345 678", "KE")).toEqual({ ok: true, value: "5678" });
    expect(externalRefLast4("wallet", undefined, "KE")).toEqual({ ok: true, value: null });
  });

  it.each([
    ["card", "4111 1111 1111 1112", "invalid_card_number"], // Luhn
    ["card", "4111", "invalid_card_number"],
    ["card", "4111111111111111111111", "invalid_card_number"],
    ["card", undefined, "invalid_card_number"],
    ["card", "9".repeat(10_000), "invalid_card_number"],
    ["bank_account", "12", "invalid_external_ref"],
    ["bank_account", "0123'; DROP TABLE accounts;--", "invalid_external_ref"],
    ["bank_account", "０１２３４５", "invalid_external_ref"],
    ["e_money", "", "invalid_external_ref"],
    ["mobile_money", "020 2222222", "not_a_mobile_number"],
    ["mobile_money", "hello", "invalid_msisdn"],
    ["wallet", "1234", "external_ref_not_allowed"],
  ] as const)("refuses %s %j with %s", (kind, ref, code) => {
    expect(externalRefLast4(kind, ref, "KE")).toEqual({ ok: false, code });
  });

  it("checks card numbers with Luhn", () => {
    expect(isCardNumber("4242424242424242")).toBe(true);
    expect(isCardNumber("4242424242424241")).toBe(false);
    expect(isCardNumber("378282246310005")).toBe(true); // 15-digit Amex test number
  });
});

describe("instrument kinds", () => {
  it("backs a wallet with a wallet that cannot go negative, other kinds with an instrument account", () => {
    expect(accountFor("wallet")).toEqual({ kind: "customer_wallet", flags: AccountFlags.debitsMustNotExceedCredits });
    expect(accountFor("card")).toEqual({ kind: "instrument", flags: 0 });
    expect(isInstrumentKind("mobile_money")).toBe(true);
    expect(isInstrumentKind("crypto")).toBe(false);
    expect(isInstrumentKind(undefined)).toBe(false);
  });
});

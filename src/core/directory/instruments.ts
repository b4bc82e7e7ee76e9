import { AccountFlags, type AccountKind } from "../ledger/types.js";
import { normalizeMsisdn } from "./msisdn.js";
import { INSTRUMENT_KINDS, ok, refuse, type ExternalRefCode, type Instrument, type InstrumentKind, type Outcome } from "./types.js";

const MAX_RAW_REF_LENGTH = 64;

export function isInstrumentKind(value: unknown): value is InstrumentKind {
  return typeof value === "string" && (INSTRUMENT_KINDS as readonly string[]).includes(value);
}

/**
 * The ledger account behind an instrument. A wallet holds the customer's e-money and so cannot go
 * negative. The others mirror money held elsewhere (a bank account, a card, another operator's
 * wallet): their ledger account is a clearing position that the bank settles, so it carries no flag.
 */
export function accountFor(kind: InstrumentKind): { kind: AccountKind; flags: number } {
  return kind === "wallet"
    ? { kind: "customer_wallet", flags: AccountFlags.debitsMustNotExceedCredits }
    : { kind: "instrument", flags: 0 };
}

/**
 * Whether a payment may debit the instrument: only a wallet, whose account holds the money here
 * and cannot go below zero. The other kinds mirror money held elsewhere and are paid into only.
 */
export function canPay(instrument: Pick<Instrument, "kind">): boolean {
  return instrument.kind === "wallet";
}

/**
 * Checks an instrument's external reference and returns the only part the directory keeps: its
 * last four characters. A full card or account number is never stored, logged or audited.
 */
export function externalRefLast4(
  kind: InstrumentKind,
  ref: unknown,
  defaultCountry: string | null,
): Outcome<string | null, ExternalRefCode> {
  if (kind === "wallet") return ref === undefined || ref === null || ref === "" ? ok(null) : refuse("external_ref_not_allowed");
  if (typeof ref !== "string" || ref.length > MAX_RAW_REF_LENGTH) return refuse(kind === "card" ? "invalid_card_number" : "invalid_external_ref");
  if (kind === "mobile_money") {
    const msisdn = normalizeMsisdn(ref, defaultCountry);
    return msisdn.ok ? ok(msisdn.value.slice(-4)) : msisdn;
  }
  const compact = ref.replace(/[ -]/g, "");
  if (kind === "card") return isCardNumber(compact) ? ok(compact.slice(-4)) : refuse("invalid_card_number");
  // Bank accounts and e-money accounts: local account numbers up to IBAN length.
  return /^[A-Za-z0-9]{4,34}$/.test(compact) ? ok(compact.slice(-4).toUpperCase()) : refuse("invalid_external_ref");
}

/** 12 to 19 digits with a valid Luhn check digit (ISO/IEC 7812). */
export function isCardNumber(digits: string): boolean {
  if (!/^[0-9]{12,19}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

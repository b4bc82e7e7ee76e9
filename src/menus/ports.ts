/**
 * The ports a flow step may call. Steps never reach a database or a framework directly: the
 * composition root passes adapters (src/menus/adapters) that implement these over the core.
 */
import type { CustomerRef, Language } from "./engine/types.js";

export type { CustomerRef };

export interface PayeeRef {
  customerId: string;
  accountId: string;
  maskedName: string;
}

export type Refusal = { ok: false; code: string; until?: Date | null };
export type Result<T> = { ok: true; value: T } | Refusal;

export interface DirectoryPort {
  /** The registered, active customer behind a number, or null. */
  findByMsisdn(msisdn: string, institutionId: string): Promise<CustomerRef | null>;
  register(input: { institutionId: string; msisdn: string; displayName: string; language: Language }): Promise<Result<CustomerRef>>;
  lookupPayee(query: string, institutionId: string): Promise<Result<PayeeRef>>;
  setLanguage(customer: CustomerRef, language: Language): Promise<Result<null>>;
  /** The customer's pseudonyms and payment instruments (bounded by the directory's limits). */
  holdings(customer: CustomerRef): Promise<Holdings>;
  claimAlias(customer: CustomerRef, alias: string): Promise<Result<string>>;
  setDefaultInstrument(customer: CustomerRef, instrumentId: string): Promise<Result<string>>;
}

export interface Holdings {
  aliases: string[];
  instruments: Array<{ id: string; alias: string; isDefault: boolean }>;
}

export interface PinPort {
  setPin(customer: CustomerRef, pin: string): Promise<Result<null>>;
  /** pin_wrong, pin_locked (with until) … as refusals. */
  verifyPin(customer: CustomerRef, pin: string): Promise<Result<null>>;
  changePin(customer: CustomerRef, oldPin: string, newPin: string): Promise<Result<null>>;
}

export interface StatementLine {
  direction: "in" | "out";
  amountMinor: bigint;
  at: Date;
  reference: string;
}

export interface AccountsPort {
  /** What the customer can spend now: posted credits less posted and pending debits. */
  balance(customer: CustomerRef): Promise<{ availableMinor: bigint; currency: string }>;
  recent(customer: CustomerRef, limit: number): Promise<StatementLine[]>;
}

export interface PaymentQuote {
  feeMinor: bigint;
  /** A refusal known before the PIN: a limit code (with remainingMinor), invalid_amount … */
  refusal?: string;
  /** For limit refusals: what the payer may still send now. */
  remainingMinor?: bigint;
}

export interface SendInput {
  /** Derived from the session and step, so a retried or resumed hop can post only once. */
  paymentId: string;
  payer: CustomerRef;
  /** The payee as the customer typed it (number or pseudonym); the port resolves it again. */
  payeeQuery: string;
  amountMinor: bigint;
  /**
   * The PIN typed at this very step. The port verifies it last, just before the money moves, and
   * forgets it; it is never stored.
   */
  pin: string;
}

export interface SendResult {
  /** "ok", or a refusal code: pin_wrong, pin_locked, insufficient_funds, a limit code … */
  code: string;
  /** Short reference for the receipt. */
  reference: string;
  feeMinor?: bigint;
  /** For limit refusals: what the payer may still send now. */
  remainingMinor?: bigint;
  /** For pin_locked and sim_swap_cooling: when it ends. */
  until?: Date | null;
}

/**
 * Fees, limits and the payment itself belong to the payments core (src/core/payments). The flow
 * calls them only through this port: CorePaymentsPort adapts the core's Payments service, and
 * LedgerPaymentsPort is a zero-fee, no-limit stand-in over the ledger alone.
 */
export interface PaymentsPort {
  quote(payer: CustomerRef, payeeQuery: string, amountMinor: bigint): Promise<PaymentQuote>;
  send(input: SendInput): Promise<SendResult>;
}

export interface SimSwapPort {
  checkOutgoing(msisdn: string, amountMinor: bigint): Promise<Result<null>>;
}

/**
 * Seals a PIN typed in one step so that the next step can compare or use it, bound to the session
 * (AES-GCM under a server key). Nothing in clear ever reaches the session store.
 */
export interface SealPort {
  seal(plain: string, context: string): string;
  open(sealed: string, context: string): string | null;
}

export interface MenuLimits {
  /** Characters in one input; longer input is refused before any step sees it. */
  maxInputChars: number;
  /** Flow stages (answered screens) in one session. */
  maxStages: number;
  /** Rows in a mini-statement. */
  statementRows: number;
  pinMinDigits: number;
  pinMaxDigits: number;
}

export const DEFAULT_MENU_LIMITS: MenuLimits = { maxInputChars: 64, maxStages: 8, statementRows: 5, pinMinDigits: 4, pinMaxDigits: 4 };

export interface MenuContext {
  /** Unique per channel and aggregator session (e.g. "at:ATUid_…"). */
  sessionId: string;
  /** The caller's number in E.164, as the telco reports it. */
  msisdn: string;
  institutionId: string;
  defaultLanguage: Language;
  directory: DirectoryPort;
  pins: PinPort;
  accounts: AccountsPort;
  payments: PaymentsPort;
  simSwap: SimSwapPort;
  sealer: SealPort;
  limits: MenuLimits;
  now: () => Date;
}

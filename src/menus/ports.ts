/**
 * The ports a flow step may call. Steps never reach a database or a framework directly: the
 * composition root passes adapters (src/menus/adapters) that implement these over the core.
 */
import type { AgentRef, CustomerRef, Language } from "./engine/types.js";

export type { AgentRef, CustomerRef };

export interface PayeeRef {
  customerId: string;
  accountId: string;
  maskedName: string;
  /**
   * The payee's own number: what a payment names them by once the payer has confirmed the masked
   * name, so a pseudonym that changes hands meanwhile cannot redirect it. Never shown.
   */
  msisdn: string;
}

export type Refusal = { ok: false; code: string; until?: Date | null };
export type Result<T> = { ok: true; value: T } | Refusal;

export interface DirectoryPort {
  /** The registered, active customer behind a number, or null. */
  findByMsisdn(msisdn: string, institutionId: string): Promise<CustomerRef | null>;
  register(input: { institutionId: string; msisdn: string; displayName: string; language: Language }): Promise<Result<CustomerRef>>;
  /**
   * A payee by number or pseudonym. `asker` (the customer or agent about to pay): a payee found
   * blocked or closed is audited for the bank, while the answer is the one for an unknown number.
   */
  lookupPayee(query: string, institutionId: string, asker?: { actorType: "customer" | "agent"; id: string }): Promise<Result<PayeeRef>>;
  setLanguage(customer: CustomerRef, language: Language): Promise<Result<null>>;
  /** The customer's pseudonyms and payment instruments (bounded by the directory's limits). */
  holdings(customer: CustomerRef): Promise<Holdings>;
  /**
   * The customer's instruments that can pay: wallets, whose money is held here (a lighter read than
   * holdings). A card or a bank account is a place to be paid, not one to pay from.
   */
  payingInstruments(customer: CustomerRef): Promise<Holdings["instruments"]>;
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

/** One of a customer's wallets, as a balance screen lists it. */
export interface WalletBalance {
  /** The wallet's instrument alias ("wallet", "savings"). */
  name: string;
  availableMinor: bigint;
  currency: string;
}

export interface AccountsPort {
  /**
   * What the customer can spend now: posted credits less posted and pending debits, of the wallet
   * opened at registration. `wallets`, when the customer holds more than one wallet (any of them
   * can pay, and money sent to them goes to the default one): each one's, in the directory's order.
   */
  balance(customer: CustomerRef): Promise<{ availableMinor: bigint; currency: string; wallets?: WalletBalance[] }>;
  /** The last `limit` payments in and out of any of the customer's wallets, newest first. */
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
  /** The payee as confirmed: their number (PayeeRef.msisdn), which the port resolves again. */
  payeeQuery: string;
  amountMinor: bigint;
  /** The payer's instrument chosen to pay from (Holdings' id); absent: the wallet. */
  fromInstrumentId?: string;
  /** The fee the customer was shown: a bank fee changed since is refused (fee_changed), never charged unseen. */
  quotedFeeMinor?: bigint;
  /**
   * The PIN typed at this very step. The port verifies it before any money moves, and forgets it;
   * it is never stored.
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

/**
 * What an agent operation answered: "ok", or a refusal code (pin_wrong, insufficient_float,
 * agent_store_mismatch, a limit code …) that refusals.ts turns into words.
 */
export interface AgentOutcome {
  code: string;
  /** Short reference for the receipt (from the transfer id). */
  reference: string;
  amountMinor?: bigint;
  feeMinor?: bigint;
  /** The counterparty as the other side may see it (masked). */
  maskedName?: string;
  /**
   * A cash-out request retried after the customer (or the core) decided it: what became of it,
   * so the agent is told to hand over cash only when it was approved. Absent or "pending" otherwise.
   */
  cashOutState?: "pending" | "approved" | "declined" | "expired" | "refused" | "cancelled";
  /** For limit refusals: what may still move now. */
  remainingMinor?: bigint;
  /** For pin_locked and sim_swap_cooling: when it ends. */
  until?: Date | null;
}

export interface AgentCashQuote {
  /** The customer as the agent may see them (masked); absent when the quote does not say. */
  maskedName?: string;
  feeMinor: bigint;
  /** What the agent earns on it. */
  commissionMinor: bigint;
}

export interface WithdrawQuote {
  /** The agent's name, masked. */
  agentName: string;
  feeMinor: bigint;
  totalMinor: bigint;
}

/** A cash-out an agent started, waiting for the customer's approval. */
export interface PendingCashOutView {
  pendingId: string;
  /** The agent's name, masked. */
  agentName: string;
  storeNumber: string;
  amountMinor: bigint;
  feeMinor: bigint;
  expiresAt: Date;
}

export interface AgentTxLine {
  direction: "in" | "out";
  amountMinor: bigint;
  at: Date;
  reference: string;
}

/** A customer as the agent typed them (number or pseudonym), and who the directory found for it. */
export interface CustomerQuery {
  query: string;
  customerId: string;
}

/** Amounts as { ok, value } or a refusal with the remaining amount for limit codes. */
export type AgentQuoteResult<T> = { ok: true; value: T } | { ok: false; code: string; remainingMinor?: bigint; until?: Date | null };

/**
 * Agents (business correspondents): cash-in and cash-out at an agent, float, commission. The flows
 * reach the agents core (src/core/agents) only through this port. PINs are passed through once, in
 * the step that receives them, and never kept. requestId is derived from the session and step, so
 * a retried or resumed hop moves money at most once.
 */
export interface AgentsPort {
  /**
   * What a dial from this number opens, asked beside who is calling: the active or suspended agent
   * behind it (or null), and the customers behind it with a cash-out awaiting approval.
   */
  atNumber(msisdn: string, institutionId: string): Promise<{ agent: AgentRef | null; awaitingCashOut: string[] }>;

  // The customer's side.
  /** Both the agent's number and its store number must name the same agent. */
  findForWithdrawal(customer: CustomerRef, agentNumber: string, storeNumber: string): Promise<AgentQuoteResult<{ agentName: string }>>;
  quoteWithdraw(customer: CustomerRef, agentNumber: string, storeNumber: string, amountMinor: bigint): Promise<AgentQuoteResult<WithdrawQuote>>;
  withdraw(input: { requestId: string; customer: CustomerRef; agentNumber: string; storeNumber: string; amountMinor: bigint; quotedFeeMinor?: bigint; pin: string }): Promise<AgentOutcome>;
  /** Cash-outs awaiting this customer's approval, oldest first. */
  pendingCashOuts(customer: CustomerRef): Promise<PendingCashOutView[]>;
  approveCashOut(input: { pendingId: string; customer: CustomerRef; pin: string }): Promise<AgentOutcome>;
  declineCashOut(input: { pendingId: string; customer: CustomerRef }): Promise<AgentOutcome>;

  // The agent's side.
  /** customer: as the agent typed it, and who the directory found for it. */
  quoteCashIn(agent: AgentRef, customer: CustomerQuery, amountMinor: bigint): Promise<AgentQuoteResult<AgentCashQuote>>;
  /** customerId: the customer the agent confirmed for customerQuery; the cash goes to them whoever the query names now. */
  cashIn(input: { requestId: string; agent: AgentRef; customerQuery: string; customerId?: string; amountMinor: bigint; quotedFeeMinor?: bigint; pin: string }): Promise<AgentOutcome>;
  quoteCashOut(agent: AgentRef, customer: CustomerQuery, amountMinor: bigint): Promise<AgentQuoteResult<AgentCashQuote>>;
  /** Holds the amount on the customer's wallet until the customer approves on their phone. */
  startCashOut(input: { requestId: string; agent: AgentRef; customerQuery: string; customerId?: string; amountMinor: bigint; pin: string }): Promise<AgentOutcome>;
  /** The agent's own PIN, for the agent's reports. */
  verifyPin(agent: AgentRef, pin: string): Promise<Result<null>>;
  floatBalance(agent: AgentRef): Promise<{ availableMinor: bigint; currency: string }>;
  todaysTransactions(agent: AgentRef, limit: number): Promise<{ count: number; lines: AgentTxLine[] }>;
  /** Commission earned and not yet paid out. */
  commissionEarned(agent: AgentRef): Promise<{ balanceMinor: bigint; currency: string }>;
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
  /** Agents (cash-in/out); without it the agent menu and cash withdrawal are not offered. */
  agents?: AgentsPort;
  sealer: SealPort;
  limits: MenuLimits;
  now: () => Date;
}

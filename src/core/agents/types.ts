/** Business-correspondent (agent) vocabulary. Amounts are bigint minor units of the institution's currency. */
import type { ActorType } from "../audit/audit-entry.js";
import type { LimitCode } from "../limits/types.js";

export const AGENT_STATUSES = ["active", "suspended", "closed"] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

/** Channels through which an agent or a customer may move agent money. */
export const AGENT_CHANNELS = ["ussd", "agent", "api"] as const;
export type AgentChannel = (typeof AGENT_CHANNELS)[number];

/**
 * An agent's own limits, set by its bank: the ledger enforces them on the float with the account
 * locked, like a customer's. "Float out" is e-money leaving the float (cash-in to customers);
 * "float in" is e-money arriving from customers (withdrawals, cash-outs), counted separately.
 */
export interface AgentLimits {
  /** Largest single cash-in or cash-out. */
  maxPerTransactionMinor: bigint;
  /** Sum of cash-ins (float leaving) per local day. */
  maxDailyFloatOutMinor: bigint;
  /** Sum of customers' withdrawals and cash-outs (float coming in) per local day. */
  maxDailyFloatInMinor: bigint;
  /** Cash-ins per local day; also, counted apart, withdrawals and cash-outs per local day. */
  maxDailyCount: number;
  /** Highest float the agent may hold (caps cash-outs and top-ups). */
  maxFloatBalanceMinor: bigint;
}

export interface Agent {
  id: string;
  institutionId: string;
  /** E.164: the agent's phone, which the USSD channel recognises. */
  msisdn: string;
  /** The till/store number customers type when withdrawing: digits, unique per institution. */
  storeNumber: string;
  name: string;
  location: string;
  status: AgentStatus;
  floatAccountId: string;
  commissionAccountId: string;
  limits: AgentLimits;
  createdAt: Date;
  updatedAt: Date;
}

/** Default agent limits: a bank tightens or raises them per agent. */
export const DEFAULT_AGENT_LIMITS: AgentLimits = Object.freeze({
  maxPerTransactionMinor: 7_000_000n,
  maxDailyFloatOutMinor: 50_000_000n,
  maxDailyFloatInMinor: 50_000_000n,
  maxDailyCount: 500,
  maxFloatBalanceMinor: 100_000_000n,
});

/** Largest amount accepted as input before anything is looked up (10^15 minor units). */
export const MAX_AGENT_AMOUNT_MINOR = 1_000_000_000_000_000n;
export const DEFAULT_CASH_OUT_TIMEOUT_SEC = 300;
export const MAX_CASH_OUT_TIMEOUT_SEC = 3_600;
export const MIN_CASH_OUT_TIMEOUT_SEC = 30;
/** At most this many cash-outs may await one customer's approval at once. */
export const MAX_PENDING_CASH_OUTS_PER_CUSTOMER = 5;
/**
 * Cash-out requests from one agent that one customer declined or let lapse, or that the ledger
 * refused for the customer's side (funds, limits, a frozen or closed wallet), per 24 hours, before
 * the agent may ask no more.
 */
export const MAX_UNANSWERED_CASH_OUTS_PER_DAY = 3;

/** Why an agent operation did not go through: one message per code at the edge. */
export type AgentCode =
  | "invalid_input"
  | "invalid_amount"
  | "invalid_request_id"
  | "invalid_msisdn"
  | "invalid_store_number"
  | "institution_not_found"
  | "agent_exists"
  | "store_number_taken"
  | "agent_not_found"
  | "agent_unavailable"
  | "agent_has_balance"
  | "agent_store_mismatch"
  | "customer_not_found"
  | "customer_unavailable"
  /** An account of the bank's own (settlement, fee income) is frozen or closed. */
  | "bank_account_unavailable"
  | "self_transaction"
  | "amount_outside_fee_bands"
  | "sim_swap_cooling"
  | "pin_wrong"
  | "pin_locked"
  | "pin_invalid"
  | "insufficient_float"
  | "insufficient_funds"
  | "float_limit_exceeded"
  | "fee_changed"
  | "too_many_pending"
  | "cash_outs_declined"
  | "pending_not_found"
  | "pending_expired"
  | "pending_already_approved"
  | "pending_already_declined"
  | "request_id_reused"
  /** A retry of a request whose transfer was given up after its write threw (Ledger.abandon): nothing moved, and never will under this id. */
  | "request_abandoned"
  | "transfer_not_found"
  | "not_a_cash_in"
  | "already_reversed"
  | "customer_funds_spent"
  | "commission_paid_out"
  | "currency_mismatch"
  | LimitCode;

export interface AgentRefusal {
  ok: false;
  code: AgentCode;
  /** For limit refusals: the most that may move right now. */
  availableMinor?: bigint;
  /** For sim_swap_cooling and pin_locked: when it ends (null: until the bank unlocks). */
  until?: Date | null;
  /** For invalid_input: which fields, and why. */
  problems?: { path: (string | number)[]; message: string }[];
}

export type AgentResult<T> = ({ ok: true } & T) | AgentRefusal;

export interface OnboardInput {
  institutionId: string;
  /** Any accepted form; stored in E.164. */
  msisdn: string;
  storeNumber: string;
  name: string;
  location: string;
  limits?: Partial<AgentLimits>;
  actor: AgentActor;
  /** The agent's first PIN: hashed by the PIN service with the agent as subject, never stored in clear. */
  pin?: string;
}

/** Who acts on an agent: a bank user through the admin API (actorOf(principal)), or the system. */
export interface AgentActor {
  type: ActorType;
  id: string;
}

export interface FloatMovementInput {
  /** Request id chosen by the bank: a retry never moves money twice. */
  id: string;
  agentId: string;
  amountMinor: bigint;
  actor: AgentActor;
  reference?: string;
}

export interface FloatReceipt {
  transferId: string;
  amountMinor: bigint;
  floatBalanceMinor: bigint;
  currency: string;
  replayed: boolean;
}

export interface CashQuote {
  maskedName: string;
  customerId: string;
  amountMinor: bigint;
  feeMinor: bigint;
  commissionMinor: bigint;
  currency: string;
}

export interface CashInInput {
  /** Request id (a UUID) chosen by the caller: the transfer ids derive from it. */
  id: string;
  agentId: string;
  /** The customer as typed by the agent: a phone number or pseudonym. */
  customerQuery: string;
  /** The customer the agent was shown for customerQuery (a quote's): the cash goes to them, whoever the query names now. */
  customerId?: string;
  amountMinor: bigint;
  agentPin: string;
  channel: AgentChannel;
  /** The fee the quote showed, when one was shown: a schedule changed since is refused as fee_changed. */
  quotedFeeMinor?: bigint;
}

export interface CashReceipt {
  transferId: string;
  agentId: string;
  customerId: string;
  maskedName: string;
  amountMinor: bigint;
  feeMinor: bigint;
  commissionMinor: bigint;
  currency: string;
  replayed: boolean;
}

export interface WithdrawInput {
  id: string;
  customerId: string;
  /** The agent's number as the customer typed it (phone number). */
  agentNumber: string;
  storeNumber: string;
  amountMinor: bigint;
  customerPin: string;
  channel: AgentChannel;
  /** The fee the quote showed the customer, when one was: a schedule changed since is refused as fee_changed. */
  quotedFeeMinor?: bigint;
}

export interface WithdrawQuote {
  agentName: string;
  storeNumber: string;
  amountMinor: bigint;
  feeMinor: bigint;
  totalMinor: bigint;
  currency: string;
}

export interface StartCashOutInput {
  id: string;
  agentId: string;
  customerQuery: string;
  /** As CashInInput.customerId. */
  customerId?: string;
  amountMinor: bigint;
  agentPin: string;
  /** Seconds the customer has to approve; DEFAULT_CASH_OUT_TIMEOUT_SEC unless given. */
  timeoutSec?: number;
  channel?: AgentChannel;
}

/**
 * "refused": the ledger refused the hold for the customer's side (funds, own limits, a frozen or
 * closed wallet), when it was asked for or at approval. The request is kept so that it counts
 * towards MAX_UNANSWERED_CASH_OUTS_PER_DAY; it holds nothing and awaits nobody.
 * "cancelled": approved, but an account not the customer's (the agent's float or commission, the
 * bank's settlement or fee income) was frozen or closed, so the holds were voided. Not counted
 * against the agent. Only the agent's status read shows these two; to the customer they are gone.
 */
export const CASH_OUT_STATES = ["pending", "approved", "declined", "expired", "refused", "cancelled"] as const;
export type CashOutState = (typeof CASH_OUT_STATES)[number];
/** The states of a cash-out its customer may still act on or be shown. */
export type ShownCashOutState = Exclude<CashOutState, "refused" | "cancelled">;

/** An agent-initiated cash-out waiting on (or decided by) the customer. */
export interface PendingCashOut {
  /** The pending id: also the held transfer's id. */
  pendingId: string;
  agentId: string;
  agentName: string;
  storeNumber: string;
  customerId: string;
  amountMinor: bigint;
  feeMinor: bigint;
  commissionMinor: bigint;
  currency: string;
  /** Never refused or cancelled to the customer (ShownCashOutState); to the agent, whichever it is. */
  state: CashOutState;
  expiresAt: Date;
  createdAt: Date;
}

export interface ApproveCashOutInput {
  pendingId: string;
  customerId: string;
  customerPin: string;
  channel?: AgentChannel;
}

export interface AgentTransaction {
  transferId: string;
  code: string;
  /** "in": money came into the float; "out": it left. */
  direction: "in" | "out";
  amountMinor: bigint;
  kind: "single" | "pending" | "post" | "void";
  createdAt: Date;
}

export interface ReverseCashInInput {
  transferId: string;
  reason: string;
  actor: AgentActor;
  /** Scoping: the bank reversing must own the agent. */
  institutionId?: string;
}

export interface Reversal {
  reversalId: string;
  originalId: string;
  amountMinor: bigint;
  feeRefundMinor: bigint;
  commissionClawbackMinor: bigint;
  currency: string;
}

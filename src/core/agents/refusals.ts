import { refusedByPayeeLimit, type TransferInput, type TransferResult } from "../ledger/types.js";
import { LIMIT_CODES, type LimitCode } from "../limits/types.js";
import type { Agent, AgentCode, AgentRefusal } from "./types.js";

export const refuse = (code: AgentCode, extra: Partial<AgentRefusal> = {}): AgentRefusal => ({ ok: false, code, ...extra });

/**
 * Who asked for the operation, and so who hears the refusal: the agent (cash-in, its cash-out
 * request), the customer (withdrawal, answering a cash-out) or the bank (float, reversal). A limit's
 * room (availableMinor) is told only to the one whose limit it is, and to the bank: a customer's
 * remaining daily or monthly room is what they moved today, the float's is the agent's business.
 */
export type Asker = "agent" | "customer" | "bank";

/** Accounts whose shortfall or state gets its own words: the agent's float, the commission account, the customer's wallet. */
export interface RefusalAccounts {
  floatAccountId: string;
  commissionAccountId?: string;
  /** The customer's account in the operation, if any: its being frozen or closed is the customer's state. */
  walletAccountId?: string;
}

/** The agent's accounts, and the customer's if one takes part. */
export const accountsOf = (agent: Pick<Agent, "floatAccountId" | "commissionAccountId">, walletAccountId?: string): RefusalAccounts => ({
  floatAccountId: agent.floatAccountId,
  commissionAccountId: agent.commissionAccountId,
  walletAccountId,
});

/**
 * A frozen or closed account, said by whose it is: the customer's wallet is the customer's state
 * (said as a blocked customer is before the ledger is asked), the float and the commission account
 * the agent's, any other the bank's own (settlement, fee income), which neither party can mend.
 */
export function unavailable(accountId: string | undefined, accounts: RefusalAccounts): AgentCode {
  if (accountId === undefined) return "bank_account_unavailable";
  if (accountId === accounts.walletAccountId) return "customer_unavailable";
  if (accountId === accounts.floatAccountId || accountId === accounts.commissionAccountId) return "agent_unavailable";
  return "bank_account_unavailable";
}

/** The refusals that say an account is frozen or closed, in the order one is said when several are. */
export const UNAVAILABLE_CODES = ["customer_unavailable", "agent_unavailable", "bank_account_unavailable"] as const satisfies readonly AgentCode[];

export const isUnavailable = (code: AgentCode): boolean => (UNAVAILABLE_CODES as readonly AgentCode[]).includes(code);

/** What agentRefusalFor reads of a group's legs: which accounts each one debits and credits. */
export type RefusedLeg = Pick<TransferInput, "id" | "debitAccountId" | "creditAccountId">;

/** The member of a failed group that the ledger refused (the others say linked_event_failed); none when it went through. */
const refusalCause = (results: TransferResult[]): TransferResult | undefined =>
  results.find((r) => r.result !== "ok" && r.result !== "exists" && r.result !== "linked_event_failed");

/**
 * The one table from ledger outcomes to agent refusals. Only the cause of a failed group matters
 * (its other members say linked_event_failed); who ran short is read from the refused leg's
 * accounts. Anything not listed is a bug or an outage and is thrown.
 */
export function agentRefusalFor<L extends RefusedLeg>(results: TransferResult[], group: L[], accounts: RefusalAccounts, asker: Asker): AgentRefusal | null {
  const cause = refusalCause(results);
  if (!cause) {
    if (results.every((r) => r.result === "ok" || r.result === "exists")) return null;
    throw new Error("linked group failed without a cause");
  }
  const leg = group.find((t) => t.id === cause.id);
  if ((LIMIT_CODES as readonly string[]).includes(cause.result)) {
    // A retried refusal carries no amount: what was available then is not said again.
    const available = cause.limit?.availableMinor;
    const room = (owner: Asker) => (available !== undefined && (asker === owner || asker === "bank") ? { availableMinor: available } : {});
    // The float's own limits on what it takes in (its cap, its inbound day and month) are the agent's,
    // not the customer's: the customer must not read them as their own, nor learn their room.
    const payeeLimit = refusedByPayeeLimit(cause);
    const floatsLimit = leg?.creditAccountId === accounts.floatAccountId && payeeLimit;
    if (floatsLimit) return refuse("float_limit_exceeded", room("agent"));
    // A customer wallet's cap as a payee: its room is the customer's balance, not the agent's business.
    if (payeeLimit) return refuse(cause.result as LimitCode);
    // The payer's own limits: the float's (a cash-in) are the agent's; a customer's (a withdrawal, a
    // cash-out the agent asked for) are the customer's, whose remaining room the agent must not learn.
    return refuse(cause.result as LimitCode, room(leg?.debitAccountId === accounts.floatAccountId ? "agent" : "customer"));
  }
  switch (cause.result) {
    case "exceeds_credits":
      if (leg?.debitAccountId === accounts.floatAccountId) return refuse("insufficient_float");
      if (leg?.debitAccountId === accounts.commissionAccountId) return refuse("commission_paid_out");
      return refuse("insufficient_funds");
    // Whose account is frozen or closed is read from the side the ledger names, not from the leg.
    case "debit_account_frozen":
    case "debit_account_closed":
      return refuse(unavailable(leg?.debitAccountId, accounts));
    case "credit_account_frozen":
    case "credit_account_closed":
      return refuse(unavailable(leg?.creditAccountId, accounts));
    case "accounts_must_have_the_same_currency":
      return refuse("currency_mismatch");
    case "pending_transfer_expired":
      return refuse("pending_expired");
    case "pending_transfer_already_voided":
      return refuse("pending_already_declined");
    case "pending_transfer_already_posted":
      return refuse("pending_already_approved");
    case "pending_transfer_not_found":
      return refuse("pending_not_found");
    case "transfer_abandoned":
      // The move's transfer was given up after its write threw (Ledger.abandon, under SIM-swap
      // cooling): it never posts, and a retry of it is refused so. Nothing moved; a new request may go.
      return refuse("request_abandoned");
    default:
      if (cause.result.startsWith("exists_with_different")) return refuse("request_id_reused");
      throw new Error(`unexpected ledger outcome for an agent transaction: ${cause.result}`);
  }
}

import type { AuditEntryInput } from "../audit/audit-entry.js";
import type { Agent, AgentLimits, AgentStatus, CashOutState } from "./types.js";

/** A cash-out as stored: the index of held transfers the ledger owns; the ledger stays the truth. */
export interface CashOutRecord {
  pendingId: string;
  agentId: string;
  customerId: string;
  amountMinor: bigint;
  feeMinor: bigint;
  commissionMinor: bigint;
  state: CashOutState;
  expiresAt: Date;
  createdAt: Date;
}

export type InsertAgentOutcome = "ok" | "msisdn_taken" | "store_number_taken";

/** What closing an agent came to: closed (with the device keys it revoked), or refused and nothing written. */
export type CloseAgentOutcome =
  | { outcome: "closed"; agent: Agent; revokedKeyIds: string[] }
  | { outcome: "has_balance" }
  | { outcome: "not_found" };

/** What a new cash-out request is admitted on: what awaits the customer, what the agent left unanswered. */
export interface CashOutCounts {
  /** The customer's cash-outs, from any agent, still "pending" after now (requests in flight too). */
  waiting: number;
  /** The agent's cash-outs to the customer created since `since` that were declined, lapsed (by now) or refused. */
  unanswered: number;
}

export interface CashOutAdmission {
  since: Date;
  now: Date;
  /** Whether a new request may be recorded with these counts. */
  admits(counts: CashOutCounts): boolean;
}

export type CashOutInsert = { outcome: "inserted" } | { outcome: "exists" } | { outcome: "not_admitted"; counts: CashOutCounts };

/** Who a number is besides a customer: an agent of the institution, and whose cash-outs await it. */
export interface NumberRoles {
  agent: Agent | null;
  /** Customers (ids) behind the number with a cash-out awaiting approval. */
  awaitingCashOut: string[];
}

export interface AgentPage {
  limit: number;
  /** Agents created after this id (keyset paging by id). */
  afterId?: string;
}

/** Port: agents and their cash-outs. Writes that change an agent carry their audit entries. */
export interface AgentStore {
  insert(agent: Agent, audit: AuditEntryInput[]): Promise<InsertAgentOutcome>;
  get(id: string): Promise<Agent | null>;
  findByMsisdn(msisdn: string, institutionId: string): Promise<Agent | null>;
  findByStore(storeNumber: string, institutionId: string): Promise<Agent | null>;
  list(institutionId: string, page: AgentPage): Promise<Agent[]>;
  /**
   * Sets status and/or limits; audit(before) gives the entries written in the same transaction.
   * Never closes (close does): an agent taken out of "closed" has its float and commission
   * accounts, closed in the ledger by close, opened again in the same transaction.
   */
  update(id: string, patch: { status?: AgentStatus; limits?: AgentLimits }, now: Date, audit: (before: Agent) => AuditEntryInput[]): Promise<Agent | null>;
  /**
   * Closes the agent only if its float and commission accounts hold nothing (no posted balance,
   * nothing pending either way), in one transaction: the agent's row and the two ledger accounts
   * locked (the ledger's own lock, so a transfer to or from them runs wholly before or after),
   * the accounts closed in the ledger (a transfer decided after the close is refused there as
   * credit_account_closed, whatever status it read of the agent before), the agent's device keys
   * revoked, and audit(before, revokedKeyIds) written with it. "has_balance": nothing written.
   */
  close(id: string, now: Date, audit: (before: Agent, revokedKeyIds: string[]) => AuditEntryInput[]): Promise<CloseAgentOutcome>;
  /**
   * Records a new cash-out if `admission` admits it on the counts. The counts are read and the row
   * written in one transaction under a lock on the customer's cash-outs, so requests made at once
   * (in any number of processes) are admitted one after the other, each counting the ones before
   * it. "exists": a cash-out with this id exists already (nothing written).
   */
  insertCashOut(record: CashOutRecord, admission: CashOutAdmission): Promise<CashOutInsert>;
  getCashOut(pendingId: string): Promise<CashOutRecord | null>;
  /** A customer's cash-outs still in state "pending" that expire after now, oldest first. */
  listPendingCashOuts(customerId: string, now: Date, limit: number): Promise<CashOutRecord[]>;
  /**
   * What a dial from this number (E.164) opens: the institution's agent behind it (or null), and
   * the customers behind it with a cash-out still pending after now. One read for both.
   */
  atNumber(msisdn: string, institutionId: string, now: Date): Promise<NumberRoles>;
  /** Forgets a cash-out still "pending" whose hold the ledger refused on the agent's side: it never awaited anyone. */
  deleteRefusedCashOut(pendingId: string): Promise<void>;
  /** Moves a cash-out out of "pending" (to "refused" too); false when it was not pending any more. */
  settleCashOut(pendingId: string, state: Exclude<CashOutState, "pending">, now: Date): Promise<boolean>;
}

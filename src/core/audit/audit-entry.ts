/** Who acted. "system" covers the gateway's own jobs (expiry sweeps, session metering). */
export type ActorType = "customer" | "agent" | "bank_user" | "operator" | "telco" | "system";

export type Channel = "ussd" | "sms" | "ivr" | "agent" | "api" | "admin" | "system";

export type AuditOutcome = "ok" | "refused" | "error";

/**
 * One action for the tamper-evident audit log. The payload must already be redacted: no PIN,
 * no secret, no full card number. The log adds the time, sequence and hash chain.
 */
export interface AuditEntryInput {
  actorType: ActorType;
  actorId: string;
  action: string;
  channel: Channel;
  outcome: AuditOutcome;
  /** What the action was about, e.g. a customer id, an account id or an alias. */
  subject?: string;
  payload?: Record<string, unknown>;
}

/** Port: appends entries to the chain. Implementations must keep the chain linear under concurrency. */
export interface AuditLog {
  append(entries: AuditEntryInput[]): Promise<void>;
}

import { actorOf, type Principal } from "../access/types.js";
import type { AuditEntryInput } from "../audit/audit-entry.js";
import type { FieldProblem } from "../institutions/types.js";
import type { LimitPolicyKey, LimitPolicyStore, StoredLimitPolicy } from "./ports.js";
import { DEFAULT_LIMIT_UNIT_MINOR, defaultPolicy, policyCells, policyProblems, securityLevel, type SecurityLevel } from "./security-levels.js";
import { evaluateLimits } from "./evaluate.js";
import { periodKeys } from "./periods.js";
import { LIMIT_CHANNELS, type LimitChannel, type LimitDecision, type LimitPolicy, type LimitTier, type LimitUsage } from "./types.js";

/** One cell of a bank's matrix as the admin API shows it. */
export interface PolicyView {
  channel: LimitChannel;
  tier: LimitTier;
  securityLevel: SecurityLevel;
  /** What applies now: the bank's own policy, or the default. */
  policy: LimitPolicy;
  /** The level's default, which is also the most the bank may set. */
  ceiling: LimitPolicy;
  source: "default" | "institution";
  updatedAt: Date | null;
}

export type SetPolicyResult = { ok: true; view: PolicyView; before: LimitPolicy | null } | { ok: false; code: "invalid_policy"; problems: FieldProblem[] };

function view(channel: LimitChannel, tier: LimitTier, stored: StoredLimitPolicy | undefined, unitMinor: bigint): PolicyView {
  const ceiling = defaultPolicy(channel, tier, unitMinor);
  return {
    channel,
    tier,
    securityLevel: securityLevel(channel),
    // A bank's own figures were within the ceiling when set; the ceiling may have come down since
    // (the platform corrected the institution's limit unit): what applies is never above it.
    policy: stored ? withinCeiling(stored.policy, ceiling) : ceiling,
    ceiling,
    source: stored ? "institution" : "default",
    updatedAt: stored?.updatedAt ?? null,
  };
}

function withinCeiling(policy: LimitPolicy, ceiling: LimitPolicy): LimitPolicy {
  const least = <T extends bigint | number>(a: T, b: T): T => (a < b ? a : b);
  return {
    maxPerTransactionMinor: least(policy.maxPerTransactionMinor, ceiling.maxPerTransactionMinor),
    maxDailyAmountMinor: least(policy.maxDailyAmountMinor, ceiling.maxDailyAmountMinor),
    maxDailyCount: least(policy.maxDailyCount, ceiling.maxDailyCount),
    maxMonthlyAmountMinor: least(policy.maxMonthlyAmountMinor, ceiling.maxMonthlyAmountMinor),
    maxBalanceMinor: least(policy.maxBalanceMinor, ceiling.maxBalanceMinor),
  };
}

/** Whether a policy lets nothing be sent over its channel. */
function closes(p: LimitPolicy): boolean {
  return p.maxPerTransactionMinor === 0n || p.maxDailyAmountMinor === 0n || p.maxDailyCount === 0 || p.maxMonthlyAmountMinor === 0n;
}

/** An institution's limit unit in minor units of its currency (see DEFAULT_LIMIT_UNIT_MINOR). */
export interface LimitUnits {
  limitUnitMinor(institutionId: string): Promise<bigint>;
}

const DEFAULT_UNITS: LimitUnits = { limitUnitMinor: async () => DEFAULT_LIMIT_UNIT_MINOR };

/** The limit matrix of each institution: read, set within the ceilings, reset to default. */
export class LimitPolicies {
  constructor(
    private readonly store: LimitPolicyStore,
    private readonly now: () => Date = () => new Date(),
    private readonly units: LimitUnits = DEFAULT_UNITS,
  ) {}

  /** All 5 channels × 4 tiers, defaults filled in. */
  async matrix(institutionId: string): Promise<PolicyView[]> {
    const [stored, unit] = await Promise.all([this.store.list(institutionId), this.units.limitUnitMinor(institutionId)]);
    const find = (c: LimitChannel, t: LimitTier) => stored.find((s) => s.channel === c && s.tier === t);
    return policyCells().map(({ channel, tier }) => view(channel, tier, find(channel, tier), unit));
  }

  async cell(key: LimitPolicyKey): Promise<PolicyView> {
    const [stored, unit] = await Promise.all([this.store.list(key.institutionId), this.units.limitUnitMinor(key.institutionId)]);
    return view(key.channel, key.tier, stored.find((s) => s.channel === key.channel && s.tier === key.tier), unit);
  }

  /** The policy the ledger applies to a payer on this channel with this tier. */
  async effective(key: LimitPolicyKey): Promise<LimitPolicy> {
    return (await this.cell(key)).policy;
  }

  /**
   * What caps a customer's wallet as a payee: the tier's strictest balance cap over every channel,
   * since a wallet holds one balance whichever channel pays into it (a cap tightened on one
   * channel is not escaped by paying over another). A cell that closes its channel (nothing may be
   * sent over it) says nothing of what a wallet may hold, so it is left out unless every cell is
   * closed. Only maxBalanceMinor binds a payee without inbound limits; the other fields are the
   * USSD cell's.
   */
  async walletCap(institutionId: string, tier: LimitTier): Promise<LimitPolicy> {
    const [stored, unit] = await Promise.all([this.store.list(institutionId), this.units.limitUnitMinor(institutionId)]);
    const all = LIMIT_CHANNELS.map((channel) => view(channel, tier, stored.find((s) => s.channel === channel && s.tier === tier), unit));
    const open = all.filter((c) => !closes(c.policy));
    const cells = open.length > 0 ? open : all;
    const cap = cells.reduce((least, c) => (c.policy.maxBalanceMinor < least ? c.policy.maxBalanceMinor : least), cells[0]!.policy.maxBalanceMinor);
    const ussd = cells.find((c) => c.channel === "ussd") ?? cells[0]!;
    return { ...ussd.policy, maxBalanceMinor: cap };
  }

  /**
   * What an account has sent today and this month in the institution's time zone, as the ledger
   * last counted it: for an early answer (a quote), never for the decision, which the ledger takes
   * with the account locked.
   */
  async usage(accountId: string, timeZone: string): Promise<LimitUsage> {
    return this.store.usage(accountId, periodKeys(this.now(), timeZone));
  }

  /**
   * Whether a payer's own limits let `amountMinor` through, as their usage (of `accountId`, their
   * primary wallet) stands: a quote's early answer, with what may still be sent. `early` is a usage
   * read the caller already started (null when it could not: then it is read here).
   */
  async check(key: LimitPolicyKey, accountId: string, timeZone: string, amountMinor: bigint, early?: Promise<LimitUsage | null>): Promise<LimitDecision> {
    const [policy, usage] = await Promise.all([this.effective(key), this.usageOrRead(accountId, timeZone, early)]);
    return evaluateLimits({ amountMinor, payer: { policy, usage } });
  }

  private async usageOrRead(accountId: string, timeZone: string, early: Promise<LimitUsage | null> | undefined): Promise<LimitUsage> {
    return (early ? await early : null) ?? this.usage(accountId, timeZone);
  }

  async set(by: Principal, key: LimitPolicyKey, policy: LimitPolicy): Promise<SetPolicyResult> {
    const unit = await this.units.limitUnitMinor(key.institutionId);
    const problems = policyProblems(key.channel, key.tier, policy, unit);
    if (problems.length > 0) return { ok: false, code: "invalid_policy", problems: problems.map((p) => ({ path: [p.field], message: p.message })) };
    const now = this.now();
    const before = await this.store.put(key, policy, now, (b) => [entry(by, "limits.policy.set", key, b, policy, unit)]);
    return { ok: true, before, view: view(key.channel, key.tier, { ...key, policy, updatedAt: now }, unit) };
  }

  /** Back to the security level's default. */
  async reset(by: Principal, key: LimitPolicyKey): Promise<{ view: PolicyView; before: LimitPolicy | null }> {
    const unit = await this.units.limitUnitMinor(key.institutionId);
    const before = await this.store.put(key, null, this.now(), (b) => [entry(by, "limits.policy.reset", key, b, null, unit)]);
    return { before, view: view(key.channel, key.tier, undefined, unit) };
  }
}

/** Before and after are the policies in force, defaults included; source says which they were. */
function entry(by: Principal, action: string, key: LimitPolicyKey, before: LimitPolicy | null, after: LimitPolicy | null, unitMinor: bigint): AuditEntryInput {
  const fallback = defaultPolicy(key.channel, key.tier, unitMinor);
  return {
    ...actorOf(by),
    action,
    channel: "admin",
    outcome: "ok",
    subject: key.institutionId,
    payload: {
      channel: key.channel,
      tier: key.tier,
      before: before ?? fallback,
      after: after ?? fallback,
      beforeSource: before ? "institution" : "default",
      afterSource: after ? "institution" : "default",
    },
  };
}

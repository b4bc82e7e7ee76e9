import { actorOf, type Principal } from "../access/types.js";
import type { FieldProblem } from "../institutions/types.js";
import { scheduleProblems } from "./bands.js";
import type { FeeScheduleStore, StoredFeeSchedule } from "./ports.js";
import { quoteFee } from "./quote.js";
import type { FeeBand, FeeQuote, FeeSchedule, FeeType } from "./types.js";

export type SetScheduleResult =
  | { ok: true; schedule: StoredFeeSchedule; before: FeeSchedule | null }
  | { ok: false; code: "invalid_fee_schedule"; problems: FieldProblem[] };

/** Fee schedules per institution and payment type: validated on the way in, quoted on every payment. */
export class FeeSchedules {
  constructor(
    private readonly store: FeeScheduleStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  list(institutionId: string): Promise<StoredFeeSchedule[]> {
    return this.store.list(institutionId);
  }

  get(institutionId: string, type: FeeType): Promise<StoredFeeSchedule | null> {
    return this.store.get(institutionId, type);
  }

  /** What the payer will be charged, shown on the menu before the PIN is asked. */
  async quote(institutionId: string, type: FeeType, amountMinor: bigint): Promise<FeeQuote> {
    return quoteFee(await this.store.get(institutionId, type), amountMinor);
  }

  async set(by: Principal, institutionId: string, type: FeeType, input: { bands: FeeBand[]; agentShareBps: number }): Promise<SetScheduleResult> {
    const problems = scheduleProblems(input);
    if (problems.length > 0) return { ok: false, code: "invalid_fee_schedule", problems };
    const schedule: FeeSchedule = { type, bands: input.bands.map((b) => ({ ...b })), agentShareBps: input.agentShareBps };
    const now = this.now();
    const before = await this.store.put(institutionId, type, schedule, now, (b) => [entry(by, "fees.schedule.set", institutionId, type, b, schedule)]);
    return { ok: true, before, schedule: { ...schedule, updatedAt: now } };
  }

  /** Removes the schedule: payments of this type become free. Returns what was removed. */
  async remove(by: Principal, institutionId: string, type: FeeType): Promise<FeeSchedule | null> {
    return this.store.put(institutionId, type, null, this.now(), (b) => (b ? [entry(by, "fees.schedule.remove", institutionId, type, b, null)] : []));
  }
}

function entry(by: Principal, action: string, institutionId: string, type: FeeType, before: FeeSchedule | null, after: FeeSchedule | null) {
  return {
    ...actorOf(by),
    action,
    channel: "admin" as const,
    outcome: "ok" as const,
    subject: institutionId,
    payload: { type, before, after },
  };
}

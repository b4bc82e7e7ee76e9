import type { AuditEntryInput } from "../../core/audit/audit-entry.js";
import { planEditRefusal } from "../../core/tariffs/plans.js";
import type { PlanEditRefusal, PlanWrite, TariffStore, TelcoFields, TelcoWrite } from "../../core/tariffs/ports.js";
import type { SessionPayer, TariffPlan, TariffTerms, Telco, TelcoIdentifierKind } from "../../core/tariffs/types.js";
import { appendAuditEntries } from "./audit-store.js";
import { big, date, foreignKeyViolation, iso, uniqueViolation } from "./policy-rows.js";
import { BatchedRead } from "./batched-read.js";
import type { SqlDb, SqlExecutor } from "./sql.js";

interface TelcoRow {
  id: string;
  code: string;
  name: string;
  created_at: Date;
  identifiers: { kind: TelcoIdentifierKind; value: string }[] | null;
}

interface PlanRow {
  id: string;
  telco_id: string;
  name: string;
  currency: string;
  per_session: string;
  per_stage: string;
  ceiling: string;
  max_stages: number;
  payer: string;
  effective_from: Date;
  created_at: Date;
  updated_at: Date;
}

const TELCO_SELECT = `SELECT t.id, t.code, t.name, t.created_at,
  (SELECT json_agg(json_build_object('kind', i.kind, 'value', i.value) ORDER BY i.kind, i.value)
     FROM telco_identifiers i WHERE i.telco_id = t.id) AS identifiers
  FROM telcos t`;

const PLAN_COLUMNS = `id, telco_id, name, currency, per_session_minor::text AS per_session, per_stage_minor::text AS per_stage,
  ceiling_minor::text AS ceiling, max_stages, payer, effective_from, created_at, updated_at`;

function toTelco(r: TelcoRow): Telco {
  const ids = r.identifiers ?? [];
  return {
    id: r.id,
    code: r.code,
    name: r.name,
    networkCodes: ids.filter((i) => i.kind === "network_code").map((i) => i.value),
    smppLinkIds: ids.filter((i) => i.kind === "smpp_link").map((i) => i.value),
    createdAt: date(r.created_at),
  };
}

function toPlan(r: PlanRow): TariffPlan {
  return {
    id: r.id,
    telcoId: r.telco_id,
    name: r.name,
    currency: r.currency,
    perSessionMinor: big(r.per_session),
    perStageMinor: big(r.per_stage),
    ceilingMinor: big(r.ceiling),
    maxStages: r.max_stages,
    payer: r.payer as SessionPayer,
    effectiveFrom: date(r.effective_from),
    createdAt: date(r.created_at),
    updatedAt: date(r.updated_at),
  };
}

function telcoWrite(error: unknown): TelcoWrite {
  const constraint = uniqueViolation(error);
  if (constraint === "telcos_code_key") return "telco_code_taken";
  if (constraint === "telco_identifiers_pkey") return "telco_identifier_taken";
  throw error;
}

function planWrite(error: unknown): PlanWrite {
  if (uniqueViolation(error) === "tariff_plans_telco_id_effective_from_key") return "effective_from_taken";
  if (foreignKeyViolation(error)) return "telco_not_found";
  throw error;
}

const PLAN_VALUES = (t: TariffTerms): unknown[] => [
  t.name, t.currency, t.perSessionMinor.toString(), t.perStageMinor.toString(), t.ceilingMinor.toString(), t.maxStages, t.payer, iso(t.effectiveFrom),
];

/** Telcos and tariff plans in PostgreSQL (or PGlite). */
export class SqlTariffStore implements TariffStore {
  private planRead: BatchedRead<PlanRow> | undefined;

  constructor(private readonly db: SqlDb) {}

  async insertTelco(telco: Telco, audit: AuditEntryInput[]): Promise<TelcoWrite> {
    try {
      await this.db.transaction(async (tx) => {
        await tx.query(`INSERT INTO telcos (id, code, name, created_at) VALUES ($1::uuid, $2, $3, $4::timestamptz)`, [telco.id, telco.code, telco.name, iso(telco.createdAt)]);
        await writeIdentifiers(tx, telco.id, telco);
        await appendAuditEntries(tx, audit, telco.createdAt);
      });
      return "ok";
    } catch (error) {
      return telcoWrite(error);
    }
  }

  async updateTelco(id: string, fields: TelcoFields, audit: (before: Telco) => AuditEntryInput[]): Promise<{ before: Telco; write: TelcoWrite } | null> {
    let before: Telco | null = null;
    try {
      return await this.db.transaction(async (tx) => {
        before = await lockTelco(tx, id);
        if (!before) return null;
        await tx.query(`UPDATE telcos SET name = $2 WHERE id = $1::uuid`, [id, fields.name]);
        await tx.query(`DELETE FROM telco_identifiers WHERE telco_id = $1::uuid`, [id]);
        await writeIdentifiers(tx, id, fields);
        await appendAuditEntries(tx, audit(before), new Date());
        return { before, write: "ok" as const };
      });
    } catch (error) {
      const write = telcoWrite(error);
      return before ? { before, write } : null;
    }
  }

  async getTelco(id: string): Promise<Telco | null> {
    const result = await this.db.query<TelcoRow>(`${TELCO_SELECT} WHERE t.id = $1::uuid`, [id]);
    return result.rows[0] ? toTelco(result.rows[0]) : null;
  }

  async listTelcos(): Promise<Telco[]> {
    return (await this.db.query<TelcoRow>(`${TELCO_SELECT} ORDER BY t.code`)).rows.map(toTelco);
  }

  async findTelco(kind: TelcoIdentifierKind, value: string): Promise<Telco | null> {
    const result = await this.db.query<TelcoRow>(
      `${TELCO_SELECT} WHERE t.id = (SELECT telco_id FROM telco_identifiers WHERE kind = $1 AND value = $2)`,
      [kind, value],
    );
    return result.rows[0] ? toTelco(result.rows[0]) : null;
  }

  async insertPlan(plan: TariffPlan, audit: AuditEntryInput[]): Promise<PlanWrite> {
    try {
      return await this.db.transaction(async (tx) => {
        if (await billedFrom(tx, plan.telcoId, plan.effectiveFrom, plan.id)) return "effective_from_billed" as const;
        await tx.query(
          `INSERT INTO tariff_plans (id, telco_id, name, currency, per_session_minor, per_stage_minor, ceiling_minor, max_stages,
             payer, effective_from, created_at, updated_at)
           VALUES ($1::uuid, $2::uuid, $3, $4, $5::bigint, $6::bigint, $7::bigint, $8, $9, $10::timestamptz, $11::timestamptz, $11::timestamptz)`,
          [plan.id, plan.telcoId, ...PLAN_VALUES(plan), iso(plan.createdAt)],
        );
        await appendAuditEntries(tx, audit, plan.createdAt);
        return "ok" as const;
      });
    } catch (error) {
      return planWrite(error);
    }
  }

  async updatePlan(
    id: string,
    terms: TariffTerms,
    now: Date,
    audit: (before: TariffPlan) => AuditEntryInput[],
  ): Promise<{ before: TariffPlan; write: PlanWrite | PlanEditRefusal } | null> {
    let before: TariffPlan | null = null;
    try {
      return await this.db.transaction(async (tx) => {
        before = await lockPlan(tx, id);
        if (!before) return null;
        // Under the plan's lock: a session recorded meanwhile (its reference takes a key-share lock on
        // the plan) waits for this transaction, so it is either seen here or priced by the plan as left.
        const refused = planEditRefusal(before, terms, now, await inUse(tx, id));
        if (refused) return { before, write: refused };
        const moved = before.effectiveFrom.getTime() !== terms.effectiveFrom.getTime();
        if (moved && (await billedFrom(tx, before.telcoId, terms.effectiveFrom, id))) return { before, write: "effective_from_billed" as const };
        await tx.query(
          `UPDATE tariff_plans SET name = $2, currency = $3, per_session_minor = $4::bigint, per_stage_minor = $5::bigint,
             ceiling_minor = $6::bigint, max_stages = $7, payer = $8, effective_from = $9::timestamptz, updated_at = $10::timestamptz
           WHERE id = $1::uuid`,
          [id, ...PLAN_VALUES(terms), iso(now)],
        );
        await appendAuditEntries(tx, audit(before), now);
        return { before, write: "ok" as const };
      });
    } catch (error) {
      const write = planWrite(error);
      return before ? { before, write } : null;
    }
  }

  async deletePlan(id: string, now: Date, audit: (before: TariffPlan) => AuditEntryInput[]): Promise<{ before: TariffPlan; write: "ok" | PlanEditRefusal } | null> {
    return this.db.transaction(async (tx) => {
      const before = await lockPlan(tx, id);
      if (!before) return null;
      if (await inUse(tx, id)) return { before, write: "plan_in_use" as const };
      // Gone, it would hand the sessions under way to the plan before it, at that plan's price.
      if (before.effectiveFrom.getTime() <= now.getTime()) return { before, write: "plan_in_effect" as const };
      await tx.query(`DELETE FROM tariff_plans WHERE id = $1::uuid`, [id]);
      await appendAuditEntries(tx, audit(before), new Date());
      return { before, write: "ok" as const };
    });
  }

  async getPlan(id: string): Promise<TariffPlan | null> {
    const result = await this.db.query<PlanRow>(`SELECT ${PLAN_COLUMNS} FROM tariff_plans WHERE id = $1::uuid`, [id]);
    return result.rows[0] ? toPlan(result.rows[0]) : null;
  }

  async listPlans(telcoId?: string): Promise<TariffPlan[]> {
    const result = await this.db.query<PlanRow>(
      `SELECT ${PLAN_COLUMNS} FROM tariff_plans WHERE ($1::uuid IS NULL OR telco_id = $1::uuid) ORDER BY telco_id, effective_from`,
      [telcoId ?? null],
    );
    return result.rows.map(toPlan);
  }

  async planInEffect(telcoId: string, at: Date): Promise<TariffPlan | null> {
    // Every session's end asks this: sessions ending together share the round trip.
    this.planRead ??= new BatchedRead(
      this.db,
      `SELECT ${PLAN_COLUMNS} FROM tariff_plans WHERE telco_id = $1::uuid AND effective_from <= $2::timestamptz ORDER BY effective_from DESC LIMIT 1`,
      2,
    );
    const [row] = await this.planRead.query([telcoId, iso(at)]);
    return row ? toPlan(row) : null;
  }
}

async function writeIdentifiers(tx: SqlExecutor, telcoId: string, f: Pick<TelcoFields, "networkCodes" | "smppLinkIds">): Promise<void> {
  const kinds = [...f.networkCodes.map(() => "network_code"), ...f.smppLinkIds.map(() => "smpp_link")];
  if (kinds.length === 0) return;
  await tx.query(`INSERT INTO telco_identifiers (kind, value, telco_id) SELECT k, v, $3::uuid FROM unnest($1::text[], $2::text[]) AS x(k, v)`, [
    kinds,
    [...f.networkCodes, ...f.smppLinkIds],
    telcoId,
  ]);
}

async function lockTelco(tx: SqlExecutor, id: string): Promise<Telco | null> {
  const locked = await tx.query(`SELECT id FROM telcos WHERE id = $1::uuid FOR NO KEY UPDATE`, [id]);
  if (locked.rows.length === 0) return null;
  const result = await tx.query<TelcoRow>(`${TELCO_SELECT} WHERE t.id = $1::uuid`, [id]);
  return toTelco(result.rows[0]!);
}

/**
 * Whether a plan of the telco starting at `from` would take over sessions already metered under
 * another plan (or none): sessions started from then until the telco's next plan. A plan dated
 * back over them would say they were billed under it, though they were priced by the plan before
 * it and keep that charge. ended_at bounds the scan by its index (a session ends after it starts).
 */
async function billedFrom(tx: SqlExecutor, telcoId: string, from: Date, planId: string): Promise<boolean> {
  const billed = await tx.query(
    `SELECT 1 FROM metered_sessions s
     WHERE s.telco_id = $1::uuid AND s.ended_at >= $2::timestamptz AND s.started_at >= $2::timestamptz
       AND s.started_at < COALESCE((SELECT min(p.effective_from) FROM tariff_plans p
                                    WHERE p.telco_id = $1::uuid AND p.effective_from > $2::timestamptz AND p.id <> $3::uuid), 'infinity')
       AND s.tariff_plan_id IS DISTINCT FROM $3::uuid
     LIMIT 1`,
    [telcoId, iso(from), planId],
  );
  return billed.rows.length > 0;
}

/** Whether metered sessions refer to the plan. */
async function inUse(tx: SqlExecutor, planId: string): Promise<boolean> {
  const used = await tx.query(`SELECT 1 FROM metered_sessions WHERE tariff_plan_id = $1::uuid LIMIT 1`, [planId]);
  return used.rows.length > 0;
}

async function lockPlan(tx: SqlExecutor, id: string): Promise<TariffPlan | null> {
  const result = await tx.query<PlanRow>(`SELECT ${PLAN_COLUMNS} FROM tariff_plans WHERE id = $1::uuid FOR UPDATE`, [id]);
  return result.rows[0] ? toPlan(result.rows[0]) : null;
}

import type { CashOutAdmission, CashOutCounts, CashOutInsert, CashOutRecord, AgentPage, AgentStore, CloseAgentOutcome, InsertAgentOutcome, NumberRoles } from "../../core/agents/ports.js";
import type { Agent, AgentLimits, AgentStatus, CashOutState } from "../../core/agents/types.js";
import type { AuditEntryInput } from "../../core/audit/audit-entry.js";
import { appendAuditEntries } from "./audit-store.js";
import { big, date, iso, uniqueViolation } from "./policy-rows.js";
import { BatchedRead } from "./batched-read.js";
import type { SqlDb } from "./sql.js";

interface AgentRow {
  id: string;
  institution_id: string;
  msisdn: string;
  store_number: string;
  name: string;
  location: string;
  status: string;
  float_account_id: string;
  commission_account_id: string;
  per_tx: string;
  daily_out: string;
  daily_in: string;
  daily_count: number;
  float_max: string;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, institution_id, msisdn, store_number, name, location, status, float_account_id, commission_account_id,
  max_per_transaction_minor::text AS per_tx, max_daily_float_out_minor::text AS daily_out,
  max_daily_float_in_minor::text AS daily_in, max_daily_count AS daily_count,
  max_float_balance_minor::text AS float_max, created_at, updated_at`;

const toAgent = (r: AgentRow): Agent => ({
  id: r.id,
  institutionId: r.institution_id,
  msisdn: r.msisdn,
  storeNumber: r.store_number,
  name: r.name,
  location: r.location,
  status: r.status as AgentStatus,
  floatAccountId: r.float_account_id,
  commissionAccountId: r.commission_account_id,
  limits: { maxPerTransactionMinor: big(r.per_tx), maxDailyFloatOutMinor: big(r.daily_out), maxDailyFloatInMinor: big(r.daily_in), maxDailyCount: r.daily_count, maxFloatBalanceMinor: big(r.float_max) },
  createdAt: date(r.created_at),
  updatedAt: date(r.updated_at),
});

interface CashOutRow {
  pending_id: string;
  agent_id: string;
  customer_id: string;
  amount: string;
  fee: string;
  commission: string;
  state: string;
  expires_at: Date;
  created_at: Date;
}

const CASH_OUT_COLUMNS = `pending_id, agent_id, customer_id, amount_minor::text AS amount, fee_minor::text AS fee,
  commission_minor::text AS commission, state, expires_at, created_at`;
const LIST_PENDING = `SELECT ${CASH_OUT_COLUMNS} FROM agent_cash_outs
  WHERE customer_id = $1::uuid AND state = 'pending' AND expires_at > $2::timestamptz ORDER BY created_at, pending_id LIMIT $3::int`;

// A dial's two questions in one row: the agent's columns (all NULL when the number is no agent's)
// and who behind the number has a cash-out awaiting approval. One statement instead of two.
const AT_NUMBER = `SELECT ${COLUMNS},
    ARRAY(SELECT DISTINCT co.customer_id::text FROM customers c JOIN agent_cash_outs co ON co.customer_id = c.id
      WHERE c.msisdn = $2 AND co.state = 'pending' AND co.expires_at > $3::timestamptz) AS awaiting
  FROM (SELECT 1 AS fg_one) fg_one LEFT JOIN agents ON institution_id = $1::uuid AND msisdn = $2`;

// What a new request is admitted on (CashOutCounts): the customer's cash-outs still awaiting an
// answer, from any agent, and this agent's declined, lapsed or refused ones since $4.
const CASH_OUT_COUNTS = `SELECT
    count(*) FILTER (WHERE state = 'pending' AND expires_at > $3::timestamptz)::int AS waiting,
    count(*) FILTER (WHERE agent_id = $2::uuid AND created_at >= $4::timestamptz
      AND (state IN ('declined', 'expired', 'refused') OR (state = 'pending' AND expires_at <= $3::timestamptz)))::int AS unanswered
  FROM agent_cash_outs
  WHERE customer_id = $1::uuid AND (state = 'pending' OR (agent_id = $2::uuid AND created_at >= $4::timestamptz))`;

const toCashOut = (r: CashOutRow): CashOutRecord => ({
  pendingId: r.pending_id,
  agentId: r.agent_id,
  customerId: r.customer_id,
  amountMinor: big(r.amount),
  feeMinor: big(r.fee),
  commissionMinor: big(r.commission),
  state: r.state as CashOutState,
  expiresAt: date(r.expires_at),
  createdAt: date(r.created_at),
});

const limitParams = (l: AgentLimits) => [
  l.maxPerTransactionMinor.toString(),
  l.maxDailyFloatOutMinor.toString(),
  l.maxDailyCount,
  l.maxFloatBalanceMinor.toString(),
  l.maxDailyFloatInMinor.toString(),
];

/** Agents and their pending cash-outs in PostgreSQL or PGlite; agent changes commit with their audit entries. */
export class SqlAgentStore implements AgentStore {
  // What every dial asks (is this number an agent, does a cash-out wait for this customer):
  // concurrent hops share the round trips (src/infra/db/batched-read.ts).
  private readonly byMsisdn: BatchedRead<AgentRow>;
  private readonly pendingOf: BatchedRead<CashOutRow>;
  private readonly atNumberRead: BatchedRead<AgentRow & { awaiting: string[] }>;

  constructor(private readonly db: SqlDb) {
    this.byMsisdn = new BatchedRead(db, `SELECT ${COLUMNS} FROM agents WHERE institution_id = $1::uuid AND msisdn = $2`, 2);
    this.pendingOf = new BatchedRead(db, LIST_PENDING, 3);
    this.atNumberRead = new BatchedRead(db, AT_NUMBER, 3);
  }

  async insert(agent: Agent, audit: AuditEntryInput[]): Promise<InsertAgentOutcome> {
    try {
      await this.db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO agents (id, institution_id, msisdn, store_number, name, location, status, float_account_id, commission_account_id,
             max_per_transaction_minor, max_daily_float_out_minor, max_daily_count, max_float_balance_minor, max_daily_float_in_minor,
             created_at, updated_at)
           VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6, $7, $8::uuid, $9::uuid, $10::bigint, $11::bigint, $12, $13::bigint, $14::bigint,
             $15::timestamptz, $15::timestamptz)`,
          [agent.id, agent.institutionId, agent.msisdn, agent.storeNumber, agent.name, agent.location, agent.status,
            agent.floatAccountId, agent.commissionAccountId, ...limitParams(agent.limits), iso(agent.createdAt)],
        );
        await appendAuditEntries(tx, audit, agent.createdAt);
      });
      return "ok";
    } catch (error) {
      const constraint = uniqueViolation(error);
      if (constraint === "agents_institution_id_msisdn_key") return "msisdn_taken";
      if (constraint === "agents_institution_id_store_number_key") return "store_number_taken";
      throw error;
    }
  }

  private async one(where: string, params: unknown[]): Promise<Agent | null> {
    const result = await this.db.query<AgentRow>(`SELECT ${COLUMNS} FROM agents WHERE ${where}`, params);
    return result.rows[0] ? toAgent(result.rows[0]) : null;
  }

  get(id: string): Promise<Agent | null> {
    return this.one(`id = $1::uuid`, [id]);
  }

  async findByMsisdn(msisdn: string, institutionId: string): Promise<Agent | null> {
    const [row] = await this.byMsisdn.query([institutionId, msisdn]);
    return row ? toAgent(row) : null;
  }

  findByStore(storeNumber: string, institutionId: string): Promise<Agent | null> {
    return this.one(`institution_id = $1::uuid AND store_number = $2`, [institutionId, storeNumber]);
  }

  async list(institutionId: string, page: AgentPage): Promise<Agent[]> {
    const result = await this.db.query<AgentRow>(
      `SELECT ${COLUMNS} FROM agents WHERE institution_id = $1::uuid AND ($2::uuid IS NULL OR id > $2::uuid) ORDER BY id LIMIT $3`,
      [institutionId, page.afterId ?? null, page.limit],
    );
    return result.rows.map(toAgent);
  }

  async update(id: string, patch: { status?: AgentStatus; limits?: AgentLimits }, now: Date, audit: (before: Agent) => AuditEntryInput[]): Promise<Agent | null> {
    return this.db.transaction(async (tx) => {
      const found = await tx.query<AgentRow>(`SELECT ${COLUMNS} FROM agents WHERE id = $1::uuid FOR UPDATE`, [id]);
      if (!found.rows[0]) return null;
      const before = toAgent(found.rows[0]);
      const status = patch.status ?? before.status;
      const limits = patch.limits ?? before.limits;
      if (status === "closed" && before.status !== "closed") throw new Error("an agent is closed through close(), which checks and closes its accounts");
      if (before.status === "closed" && status !== "closed") {
        // Reopened: the accounts close() closed take money again (one an operator froze stays frozen).
        await tx.query(`UPDATE accounts SET status = 'active' WHERE id = ANY($1::uuid[]) AND status = 'closed'`, [[before.floatAccountId, before.commissionAccountId]]);
      }
      const updated = await tx.query<AgentRow>(
        `UPDATE agents SET status = $2, max_per_transaction_minor = $3::bigint, max_daily_float_out_minor = $4::bigint,
           max_daily_count = $5, max_float_balance_minor = $6::bigint, max_daily_float_in_minor = $7::bigint, updated_at = $8::timestamptz
         WHERE id = $1::uuid RETURNING ${COLUMNS}`,
        [id, status, ...limitParams(limits), iso(now)],
      );
      await appendAuditEntries(tx, audit(before), now);
      return toAgent(updated.rows[0]!);
    });
  }

  async close(id: string, now: Date, audit: (before: Agent, revokedKeyIds: string[]) => AuditEntryInput[]): Promise<CloseAgentOutcome> {
    return this.db.transaction(async (tx): Promise<CloseAgentOutcome> => {
      const found = await tx.query<AgentRow>(`SELECT ${COLUMNS} FROM agents WHERE id = $1::uuid FOR UPDATE`, [id]);
      if (!found.rows[0]) return { outcome: "not_found" };
      const before = toAgent(found.rows[0]);
      // The ledger's own row locks on the two accounts (in id order, as its batches take them): a
      // withdrawal or approval crediting the float commits before these are granted, and is seen
      // here, or runs after this commits, and finds the accounts closed.
      const held = await tx.query<{ holds: boolean }>(
        `SELECT (credits_posted <> debits_posted OR credits_pending <> 0 OR debits_pending <> 0) AS holds
           FROM accounts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
        [[before.floatAccountId, before.commissionAccountId]],
      );
      if (held.rows.some((r) => r.holds)) return { outcome: "has_balance" };
      // A frozen account stays frozen (an operator's word); an active one is closed.
      await tx.query(`UPDATE accounts SET status = 'closed' WHERE id = ANY($1::uuid[]) AND status = 'active'`, [[before.floatAccountId, before.commissionAccountId]]);
      const revoked = await tx.query<{ id: string }>(
        `UPDATE agent_device_keys SET revoked_at = $2::timestamptz WHERE agent_id = $1::uuid AND revoked_at IS NULL RETURNING id`,
        [id, iso(now)],
      );
      const revokedKeyIds = revoked.rows.map((r) => r.id).sort();
      const updated = await tx.query<AgentRow>(`UPDATE agents SET status = 'closed', updated_at = $2::timestamptz WHERE id = $1::uuid RETURNING ${COLUMNS}`, [id, iso(now)]);
      await appendAuditEntries(tx, audit(before, revokedKeyIds), now);
      return { outcome: "closed", agent: toAgent(updated.rows[0]!), revokedKeyIds };
    });
  }

  async insertCashOut(r: CashOutRecord, admission: CashOutAdmission): Promise<CashOutInsert> {
    return this.db.transaction(async (tx) => {
      // One customer's requests are admitted one at a time, whichever process makes them: the
      // counts are read after the lock (each statement's own snapshot under READ COMMITTED), so they
      // include every row an earlier request wrote before it committed and let the lock go.
      await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`fingate:agent-cash-outs:${r.customerId}`]);
      const counted = await tx.query<CashOutCounts>(CASH_OUT_COUNTS, [r.customerId, r.agentId, iso(admission.now), iso(admission.since)]);
      const counts = counted.rows[0]!;
      if (!admission.admits(counts)) return { outcome: "not_admitted", counts };
      const result = await tx.query(
        `INSERT INTO agent_cash_outs (pending_id, agent_id, customer_id, amount_minor, fee_minor, commission_minor, state, expires_at, created_at)
         VALUES ($1::uuid, $2::uuid, $3::uuid, $4::bigint, $5::bigint, $6::bigint, $7, $8::timestamptz, $9::timestamptz)
         ON CONFLICT (pending_id) DO NOTHING`,
        [r.pendingId, r.agentId, r.customerId, r.amountMinor.toString(), r.feeMinor.toString(), r.commissionMinor.toString(), r.state, iso(r.expiresAt), iso(r.createdAt)],
      );
      return result.rowCount === 1 ? { outcome: "inserted" } : { outcome: "exists" };
    });
  }

  async getCashOut(pendingId: string): Promise<CashOutRecord | null> {
    const result = await this.db.query<CashOutRow>(`SELECT ${CASH_OUT_COLUMNS} FROM agent_cash_outs WHERE pending_id = $1::uuid`, [pendingId]);
    return result.rows[0] ? toCashOut(result.rows[0]) : null;
  }

  async listPendingCashOuts(customerId: string, now: Date, limit: number): Promise<CashOutRecord[]> {
    const rows = await this.pendingOf.query([customerId, iso(now), limit]);
    return rows.map(toCashOut);
  }

  async atNumber(msisdn: string, institutionId: string, now: Date): Promise<NumberRoles> {
    const [row] = await this.atNumberRead.query([institutionId, msisdn, iso(now)]);
    return { agent: row?.id ? toAgent(row) : null, awaitingCashOut: row?.awaiting ?? [] };
  }

  async deleteRefusedCashOut(pendingId: string): Promise<void> {
    await this.db.query(`DELETE FROM agent_cash_outs WHERE pending_id = $1::uuid AND state = 'pending'`, [pendingId]);
  }

  async settleCashOut(pendingId: string, state: Exclude<CashOutState, "pending">, now: Date): Promise<boolean> {
    const result = await this.db.query(
      `UPDATE agent_cash_outs SET state = $2, settled_at = $3::timestamptz WHERE pending_id = $1::uuid AND state = 'pending'`,
      [pendingId, state, iso(now)],
    );
    return result.rowCount === 1;
  }
}

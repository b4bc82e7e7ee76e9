import { ledgerAuditEntries } from "../../core/ledger/audit-digest.js";
import { LedgerConflict, type LedgerStore, type TransferPage } from "../../core/ledger/ports.js";
import { appendAuditEntries } from "./audit-store.js";
import type { BatchDecision, BatchKeys, LedgerSnapshot, PendingState } from "../../core/ledger/snapshot.js";
import type { Account, Transfer } from "../../core/ledger/types.js";
import {
  ACCOUNT_COLUMNS,
  TRANSFER_COLUMNS,
  toAccount,
  toFailure,
  toTransfer,
  type AccountRow,
  type FailureRow,
  type TransferRow,
} from "./ledger-rows.js";
import type { SqlDb, SqlExecutor } from "./sql.js";

const LOCK_ACCOUNTS = `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`;

const LOAD_EXISTING = `
  SELECT 't' AS src, ${TRANSFER_COLUMNS}, NULL AS result FROM transfers WHERE id = ANY($1::uuid[])
  UNION ALL
  SELECT 'f', NULL, id, debit_account_id, credit_account_id, amount::text, NULL, kind, pending_id, NULL, NULL,
    NULL, NULL, created_at, result FROM transfer_failures WHERE id = ANY($1::uuid[])
  UNION ALL
  SELECT 'r', NULL, pending_id, NULL, NULL, NULL, NULL, kind, NULL, NULL, NULL, NULL, NULL, created_at, NULL
    FROM transfers WHERE pending_id = ANY($2::uuid[])`;

// One statement writes the whole batch. A transfer that a concurrent batch inserted first is
// skipped by ON CONFLICT and shows up as a short count, which the caller turns into a retry.
const WRITE_BATCH = `
WITH ins AS (
  INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, currency, kind, pending_id,
    timeout_sec, expires_at, code, reference, created_at)
  SELECT t.*, $12::timestamptz FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::text[],
    $6::text[], $7::uuid[], $8::int[], $9::timestamptz[], $10::text[], $11::text[]) AS t
  ON CONFLICT DO NOTHING RETURNING 1
), fail AS (
  INSERT INTO transfer_failures (id, result, kind, debit_account_id, credit_account_id, amount, pending_id, created_at)
  SELECT f.*, $12::timestamptz FROM unnest($13::uuid[], $14::text[], $15::text[], $16::uuid[], $17::uuid[],
    $18::bigint[], $19::uuid[]) AS f
  ON CONFLICT DO NOTHING RETURNING 1
), upd AS (
  UPDATE accounts a SET debits_pending = v.dp, debits_posted = v.dpo, credits_pending = v.cp, credits_posted = v.cpo
  FROM unnest($20::uuid[], $21::bigint[], $22::bigint[], $23::bigint[], $24::bigint[]) AS v(id, dp, dpo, cp, cpo)
  WHERE a.id = v.id RETURNING 1
), arm AS (
  INSERT INTO pending_timeouts (transfer_id, expires_at)
  SELECT * FROM unnest($25::uuid[], $26::timestamptz[]) ON CONFLICT DO NOTHING RETURNING 1
), disarm AS (
  DELETE FROM pending_timeouts WHERE transfer_id = ANY($27::uuid[]) RETURNING 1
)
SELECT (SELECT count(*) FROM ins)::int AS inserted, (SELECT count(*) FROM upd)::int AS updated,
  (SELECT count(*) FROM fail)::int AS failed, (SELECT count(*) FROM arm)::int AS armed,
  (SELECT count(*) FROM disarm)::int AS disarmed`;

const str = (v: bigint | null): string | null => (v === null ? null : v.toString());
const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

export interface SqlLedgerStoreOptions {
  /** Prepare the hot statements once per connection (PostgreSQL; PGlite ignores it). */
  prepare: boolean;
  /** Chain an audit entry per chunk of each batch, in the batch's transaction. */
  audit: boolean;
}

export class SqlLedgerStore implements LedgerStore {
  constructor(
    private readonly db: SqlDb,
    private readonly options: SqlLedgerStoreOptions = { prepare: true, audit: true },
  ) {}

  async applyBatch(keys: BatchKeys, decide: (snapshot: LedgerSnapshot) => BatchDecision): Promise<BatchDecision> {
    return this.db.transaction(async (tx) => {
      const pendings = await loadPendings(tx, keys.pendingIds);
      const accountIds = new Set(keys.accountIds);
      for (const p of pendings.values()) accountIds.add(p.debitAccountId).add(p.creditAccountId);
      const name = (n: string) => (this.options.prepare ? n : undefined);
      const locked = await tx.query<AccountRow>(LOCK_ACCOUNTS, [[...accountIds]], name("ledger_lock_accounts"));
      const snapshot = await loadSnapshot(tx, keys, pendings, locked.rows, name);
      const decision = decide(snapshot);
      if (decision.transfers.length + decision.failures.length === 0) return decision;
      await writeDecision(tx, decision, name);
      // Last, so the chain-head lock is held only for the audit insert and the commit.
      if (this.options.audit) {
        const at = (decision.transfers[0] ?? decision.failures[0])!.createdAt;
        await appendAuditEntries(tx, ledgerAuditEntries(decision), at);
      }
      return decision;
    });
  }

  async createAccounts(accounts: Account[]): Promise<void> {
    await this.db.query(
      `INSERT INTO accounts (id, institution_id, currency, kind, owner_ref, status, flags)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[])`,
      [
        accounts.map((a) => a.id),
        accounts.map((a) => a.institutionId),
        accounts.map((a) => a.currency),
        accounts.map((a) => a.kind),
        accounts.map((a) => a.ownerRef),
        accounts.map((a) => a.status),
        accounts.map((a) => a.flags),
      ],
    );
  }

  async getAccounts(ids: string[]): Promise<Account[]> {
    const result = await this.db.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = ANY($1::uuid[])`, [ids]);
    return result.rows.map(toAccount);
  }

  async getTransfer(id: string): Promise<Transfer | null> {
    const result = await this.db.query<TransferRow>(`SELECT ${TRANSFER_COLUMNS} FROM transfers WHERE id = $1::uuid`, [id]);
    return result.rows[0] ? toTransfer(result.rows[0]) : null;
  }

  async listAccountTransfers(accountId: string, page: TransferPage): Promise<Transfer[]> {
    const before = page.beforeSeq === undefined ? null : page.beforeSeq.toString();
    // seq is selected as text (exact on both drivers), so every ORDER BY names the bigint column:
    // ordering by the text output would put "99" before "100".
    const side = (column: string) =>
      `(SELECT ${TRANSFER_COLUMNS} FROM transfers WHERE ${column} = $1::uuid
        AND ($2::bigint IS NULL OR seq < $2::bigint) ORDER BY transfers.seq DESC LIMIT $3)`;
    const result = await this.db.query<TransferRow>(
      `SELECT * FROM (${side("debit_account_id")} UNION ALL ${side("credit_account_id")}) AS page
       ORDER BY page.seq::bigint DESC LIMIT $3`,
      [accountId, before, page.limit],
    );
    return result.rows.map(toTransfer);
  }

  async findExpiredPendings(now: Date, limit: number): Promise<Transfer[]> {
    const result = await this.db.query<TransferRow>(
      `SELECT ${TRANSFER_COLUMNS} FROM transfers WHERE id IN
        (SELECT transfer_id FROM pending_timeouts WHERE expires_at <= $1::timestamptz ORDER BY expires_at LIMIT $2)`,
      [now.toISOString(), limit],
    );
    return result.rows.map(toTransfer);
  }
}

/** Pending transfers are immutable rows, so they can be read before the accounts are locked. */
async function loadPendings(tx: SqlExecutor, ids: string[]): Promise<Map<string, Transfer>> {
  if (ids.length === 0) return new Map();
  const result = await tx.query<TransferRow>(`SELECT ${TRANSFER_COLUMNS} FROM transfers WHERE id = ANY($1::uuid[])`, [ids]);
  return new Map(result.rows.map((r) => [r.id, toTransfer(r)]));
}

/** Read after the locks: whatever touched these accounts before has committed by now. */
async function loadSnapshot(
  tx: SqlExecutor,
  keys: BatchKeys,
  pendings: Map<string, Transfer>,
  lockedAccounts: AccountRow[],
  name: (n: string) => string | undefined,
): Promise<LedgerSnapshot> {
  const rows = await tx.query<TransferRow & FailureRow & { src: "t" | "f" | "r" }>(
    LOAD_EXISTING,
    [keys.transferIds, [...pendings.keys()]],
    name("ledger_load_existing"),
  );
  const snapshot: LedgerSnapshot = {
    accounts: new Map(lockedAccounts.map((r) => [r.id, toAccount(r)])),
    existing: new Map(),
    pendings: new Map<string, PendingState>(),
  };
  for (const transfer of pendings.values()) snapshot.pendings.set(transfer.id, { transfer, resolution: null });
  for (const row of rows.rows) {
    if (row.src === "t") snapshot.existing.set(row.id, toTransfer(row));
    else if (row.src === "f" && !snapshot.existing.has(row.id)) snapshot.existing.set(row.id, toFailure(row));
    else if (row.src === "r") {
      const state = snapshot.pendings.get(row.id);
      if (state) state.resolution = row.kind === "post" ? "posted" : "voided";
    }
  }
  return snapshot;
}

async function writeDecision(tx: SqlExecutor, d: BatchDecision, name: (n: string) => string | undefined): Promise<void> {
  const t = d.transfers;
  const f = d.failures;
  // A pending settled in the same batch is never armed: the statement's DELETE could not see it.
  const disarmed = new Set(t.filter((x) => x.pendingId !== null).map((x) => x.pendingId!));
  const armed = t.filter((x) => x.expiresAt !== null && !disarmed.has(x.id));
  const createdAt = (t[0] ?? f[0])!.createdAt.toISOString();
  const result = await tx.query<{ inserted: number; updated: number; failed: number }>(WRITE_BATCH, [
    t.map((x) => x.id),
    t.map((x) => x.debitAccountId),
    t.map((x) => x.creditAccountId),
    t.map((x) => x.amountMinor.toString()),
    t.map((x) => x.currency),
    t.map((x) => x.kind),
    t.map((x) => x.pendingId),
    t.map((x) => x.timeoutSec),
    t.map((x) => iso(x.expiresAt)),
    t.map((x) => x.code),
    t.map((x) => x.reference),
    createdAt,
    f.map((x) => x.id),
    f.map((x) => x.result),
    f.map((x) => x.kind),
    f.map((x) => x.debitAccountId),
    f.map((x) => x.creditAccountId),
    f.map((x) => str(x.amountMinor)),
    f.map((x) => x.pendingId),
    d.accounts.map((a) => a.id),
    d.accounts.map((a) => a.debitsPending.toString()),
    d.accounts.map((a) => a.debitsPosted.toString()),
    d.accounts.map((a) => a.creditsPending.toString()),
    d.accounts.map((a) => a.creditsPosted.toString()),
    armed.map((x) => x.id),
    armed.map((x) => iso(x.expiresAt)),
    [...disarmed],
  ], name("ledger_write_batch"));
  const counts = result.rows[0]!;
  // A short count means a concurrent writer got one of these ids first: decide the batch again.
  if (counts.inserted !== t.length || counts.failed !== f.length) throw new LedgerConflict();
  if (counts.updated !== d.accounts.length) throw new Error(`ledger wrote ${counts.updated} of ${d.accounts.length} account balances`);
}

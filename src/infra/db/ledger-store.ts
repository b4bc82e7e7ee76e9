import type pg from "pg";
import { ledgerAuditPrepared } from "../../core/ledger/audit-digest.js";
import type { UsageRow } from "../../core/ledger/limits-check.js";
import { LedgerConflict, type LedgerStore, type TransferPage } from "../../core/ledger/ports.js";
import { AUDIT_CHAIN_PARAM_COUNT, auditChainSql, auditChainValues, preparedChainParams, sqlAbortWhen } from "./audit-store.js";
import type { BatchDecision, BatchKeys, LedgerSnapshot, OutboxNotice, PendingState } from "../../core/ledger/snapshot.js";
import { RECORDED_FAILURES, SUCCESS_CODES, type Account, type AccountKind, type AccountStatus, type Transfer, type TransferFailure } from "../../core/ledger/types.js";
import {
  ACCOUNT_COLUMNS,
  int4ArrayBinary,
  int8ArrayBinary,
  intArray,
  textArrayBinary,
  tidArrayBinary,
  timeArrayBinary,
  uuidArrayBinary,
  textArray,
  timeArray,
  TRANSFER_COLUMNS,
  uuidArray,
  toAccount,
  toFailure,
  toTransfer,
  type AccountRow,
  type FailureRow,
  type TransferRow,
} from "./ledger-rows.js";
import { loadPendings, saveCountedQuery, usageKeysToLoad, type LoadedPending } from "./ledger-counted.js";
import { latestUsageCounters, loadUsageCounters, saveUsageCountersQuery, selectUsageCounters, upsertUsageCounters, usageCountersFrom, type UsageCounterRow } from "./limit-policy-store.js";
import { LedgerCache, type CachedSnapshot } from "./ledger-cache.js";
import { BatchedRead } from "./batched-read.js";
import { clientExecutor, PostgresDb, type SqlDb, type SqlExecutor } from "./sql.js";

// Balances and wallet reads (coalesced per turn): prepared, as every hop that shows a balance makes
// one, and parsing it afresh cost PostgreSQL more than running it.
const GET_ACCOUNTS = `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = ANY($1::uuid[])`;
const LOCK_ACCOUNTS = `${GET_ACCOUNTS} ORDER BY id FOR UPDATE`;

const GET_FAILURES = `SELECT id, result, kind, debit_account_id, credit_account_id, amount::text AS amount, pending_id, created_at, limit_party
  FROM transfer_failures WHERE id = ANY($1::uuid[])`;

const LOAD_EXISTING = `
  SELECT 't' AS src, ${TRANSFER_COLUMNS}, NULL AS result, NULL AS limit_party FROM transfers WHERE id = ANY($1::uuid[])
  UNION ALL
  SELECT 'f', NULL, id, debit_account_id, credit_account_id, amount::text, NULL, kind, pending_id, NULL, NULL,
    NULL, NULL, created_at, result, limit_party FROM transfer_failures WHERE id = ANY($1::uuid[])
  UNION ALL
  SELECT 'r', NULL, pending_id, NULL, NULL, NULL, NULL, kind, NULL, NULL, NULL, NULL, NULL, created_at, NULL, NULL
    FROM transfers WHERE pending_id = ANY($2::uuid[])`;

// One statement writes the whole batch. A transfer or failure id that a concurrent batch inserted
// first (or a pending that it settled first) fails the statement with a unique violation, which
// the caller turns into a retry: plain inserts, because ON CONFLICT's speculative insertion costs
// an extra index probe and WAL record per row for a race that the existence read, taken with the
// accounts locked, all but rules out. The audited form also chains the batch's audit entries
// (audit-store's auditChainSql), counted last but for the outbox, so the audit head stays locked
// only for that and the COMMIT (the outer SELECT's counts run the CTEs in that order).
// Parts that most batches do not need (recorded failures, pending timeouts to arm or disarm,
// outbox rows) are only in the variants of the statement for batches that carry them: each part
// is a table the executor opens, with its indexes, constraints and triggers, for every execution.
// Outbox rows are named by ids derived from the transfer's, and a transfer is inserted here at
// most once (a conflict rolls the batch back), so are they.

/** Which optional parts a batch's write statement has. */
interface WriteShape {
  audit: boolean;
  /** Balances updated by the row versions the lock returned (PostgreSQL), not by primary key. */
  byTid: boolean;
  /**
   * Written without a lock taken first (the cached path): every account of the batch is updated
   * only where it is still at the version, status and flags decided on; a miss is a conflict.
   */
  cas: boolean;
  failures: boolean;
  timeouts: boolean;
  /** Limit usage counters to write (the batch's limited transfers, or usage given back). */
  usage: boolean;
  notices: boolean;
}

/**
 * The statement's answer: one column per check, each NULL when it holds. A check that fails
 * aborts the statement (and so the transaction, before its COMMIT, which may already be on the
 * wire behind it) with its message; writeFailure turns the conflict into LedgerConflict.
 */
const check = (written: string, expected: string, message: string, column: string) =>
  `${sqlAbortWhen(`(SELECT count(*) FROM ${written}) <> ${expected}`, message)} AS ${column}`;

/** The abort message of a check that means a concurrent writer got there first (a retry decides again). */
const CONFLICT = "fingate ledger conflict, a concurrent batch wrote the same id";

const writeBatchSql = (shape: WriteShape) => {
  let next = 1;
  /** The number of the first of `count` parameters, numbered in the order the caller pushes them. */
  const take = (count: number) => {
    const first = next;
    next += count;
    return first;
  };
  const $ = (count: number) => {
    const first = take(count);
    return (i: number) => `$${first + i}`;
  };
  const t = $(12);
  const parts = [`ins AS (
  INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, currency, kind, pending_id,
    timeout_sec, expires_at, code, reference, created_at)
  SELECT t.*, ${t(11)}::timestamptz FROM unnest(${t(0)}::uuid[], ${t(1)}::uuid[], ${t(2)}::uuid[], ${t(3)}::bigint[], ${t(4)}::text[],
    ${t(5)}::text[], ${t(6)}::uuid[], ${t(7)}::int[], ${t(8)}::timestamptz[], ${t(9)}::text[], ${t(10)}::text[]) AS t
  RETURNING 1
)`];
  const checks = [check("ins", `cardinality(${t(0)}::uuid[])`, CONFLICT, "inserted")];
  let failureIds = "'{}'::uuid[]";
  if (shape.failures) {
    const f = $(8);
    failureIds = `${f(0)}::uuid[]`;
    parts.push(`fail AS (
  INSERT INTO transfer_failures (id, result, kind, debit_account_id, credit_account_id, amount, pending_id, limit_party, created_at)
  SELECT f.*, ${t(11)}::timestamptz FROM unnest(${f(0)}::uuid[], ${f(1)}::text[], ${f(2)}::text[], ${f(3)}::uuid[], ${f(4)}::uuid[],
    ${f(5)}::bigint[], ${f(6)}::uuid[], ${f(7)}::text[]) AS f
  RETURNING 1
)`);
    checks.push(check("fail", `cardinality(${f(0)}::uuid[])`, CONFLICT, "failed"));
  }
  const a = $(shape.cas ? 8 : shape.byTid ? 6 : 5);
  parts.push(shape.cas ? casUpdate(a) : lockedUpdate(a, shape.byTid));
  checks.push(
    shape.cas
      ? check("upd", `cardinality(${a(0)}::uuid[])`, CONFLICT, "updated")
      : check("upd", `cardinality(${a(0)}::uuid[])`, "fingate ledger wrote fewer account balances than the batch changed", "updated"),
  );
  if (shape.timeouts) {
    const p = $(3);
    parts.push(`arm AS (
  INSERT INTO pending_timeouts (transfer_id, expires_at)
  SELECT * FROM unnest(${p(0)}::uuid[], ${p(1)}::timestamptz[]) ON CONFLICT DO NOTHING RETURNING 1
), disarm AS (
  DELETE FROM pending_timeouts WHERE transfer_id = ANY(${p(2)}::uuid[]) RETURNING 1
)`);
    checks.push("(SELECT count(*) FROM arm)::int AS armed", "(SELECT count(*) FROM disarm)::int AS disarmed");
  }
  if (shape.usage) {
    const u = $(4);
    parts.push(`usage_saved AS (
  ${upsertUsageCounters(u(0), u(1), u(2), u(3))}
  RETURNING 1
)`);
    checks.push(check("usage_saved", `cardinality(${u(0)}::uuid[])`, "fingate ledger wrote fewer limit usage counters than the batch changed", "usage_saved"));
  }
  if (shape.audit) {
    const first = take(AUDIT_CHAIN_PARAM_COUNT);
    parts.push(auditChainSql(first, `${t(11)}::timestamptz`));
    // One move of the head for the batch's entries (there is always at least one).
    checks.push(check("audit_move", "1", "fingate audit head did not advance, the chain would fork", "audited"));
  }
  // After the audit head is locked (see ledger_ids_unseen): no new id of the batch is recorded in
  // the other table by a batch that committed meanwhile.
  checks.push(`${sqlAbortWhen(`NOT ledger_ids_unseen(${t(0)}::uuid[], ${failureIds})`, CONFLICT)} AS unseen`);
  if (shape.notices) {
    const o = $(8);
    parts.push(`outbox AS (
  INSERT INTO outbox_messages (id, transfer_id, msisdn, template, params, language, kind, institution_id)
  SELECT o.id, o.transfer_id, o.msisdn, o.template, o.params::jsonb, o.language, o.kind, o.institution_id
  FROM unnest(${o(0)}::uuid[], ${o(1)}::uuid[], ${o(2)}::text[], ${o(3)}::text[], ${o(4)}::text[],
    ${o(5)}::text[], ${o(6)}::text[], ${o(7)}::uuid[]) AS o(id, transfer_id, msisdn, template, params, language, kind, institution_id)
  ON CONFLICT DO NOTHING RETURNING 1
)`);
    checks.push(check("outbox", `cardinality(${o(0)}::uuid[])`, CONFLICT, "noticed"));
  }
  // The checks run the CTEs in this order, so the audit head is locked only for the outbox and the COMMIT.
  return `WITH${shape.audit ? " RECURSIVE" : ""} ${parts.join(", ")}\nSELECT ${checks.join(", ")}`;
};

/**
 * The balances of a batch whose accounts it locked first. By ctid: a TID scan per account instead
 * of a second primary-key search (the id is still compared, so a row version that were not the
 * locked account's would update nothing and fail the count check rather than another account).
 */
const lockedUpdate = (a: (i: number) => string, byTid: boolean) => `upd AS (
  UPDATE accounts a SET debits_pending = v.dp, debits_posted = v.dpo, credits_pending = v.cp, credits_posted = v.cpo,
    version = a.version + 1
  FROM unnest(${a(0)}::uuid[], ${a(1)}::bigint[], ${a(2)}::bigint[], ${a(3)}::bigint[], ${a(4)}::bigint[]${byTid ? `, ${a(5)}::tid[]` : ""})
    AS v(id, dp, dpo, cp, cpo${byTid ? ", tid" : ""})
  WHERE ${byTid ? "a.ctid = v.tid AND " : ""}a.id = v.id RETURNING 1
)`;

/**
 * The balances of a batch decided on cached accounts: each of its accounts (changed or not: a
 * refusal was decided on its values too) is updated only where it is still at the version the
 * copy was made from, with the copy's status and flags (which an operator may change without a
 * ledger write). The UPDATE waits for a concurrent writer of the row and then compares with the
 * version that writer committed, so a row written since it was cached is not updated and fails the
 * count check. Versions rather than balances: balances can come back to the same values (a pending
 * made and another voided) while the account's limit counters have moved on.
 */
const casUpdate = (a: (i: number) => string) => `upd AS (
  UPDATE accounts a SET debits_pending = v.dp, debits_posted = v.dpo, credits_pending = v.cp, credits_posted = v.cpo,
    version = a.version + 1
  FROM unnest(${a(0)}::uuid[], ${a(1)}::bigint[], ${a(2)}::bigint[], ${a(3)}::bigint[], ${a(4)}::bigint[],
    ${a(5)}::bigint[], ${a(6)}::text[], ${a(7)}::int[])
    AS v(id, dp, dpo, cp, cpo, was_version, was_status, was_flags)
  WHERE a.id = v.id AND a.version = v.was_version AND a.status = v.was_status AND a.flags = v.was_flags RETURNING 1
)`;

/** The write statement and its prepared name for each variant of the shape, made on first use. */
const WRITE_BATCH = new Map<string, { text: string; name: string }>();

function writeStatement(shape: WriteShape): { text: string; name: string } {
  const key = `${shape.audit ? "a" : ""}${shape.byTid ? "v" : ""}${shape.cas ? "c" : ""}${shape.failures ? "f" : ""}${shape.timeouts ? "t" : ""}${shape.usage ? "u" : ""}${shape.notices ? "n" : ""}`;
  let statement = WRITE_BATCH.get(key);
  if (!statement) {
    statement = { text: writeBatchSql(shape), name: `ledger_write_batch_${key}` };
    WRITE_BATCH.set(key, statement);
  }
  return statement;
}

export interface SqlLedgerStoreOptions {
  /** Prepare the hot statements once per connection (PostgreSQL; PGlite ignores it). */
  prepare: boolean;
  /** Chain an audit entry per chunk of each batch, in the batch's transaction. */
  audit: boolean;
  /**
   * Decide batches whose accounts this store last wrote on its own copies, and write them in one
   * round trip that compares each account with the copy (PostgreSQL; default on). Off: every batch
   * locks and reads its accounts first.
   */
  cache?: boolean;
  /** Accounts the cache holds at most (default 100,000). */
  cacheAccounts?: number;
}

export class SqlLedgerStore implements LedgerStore {
  private readonly cache: LedgerCache | null;
  // Transfers by id, coalesced: a dial with cash-outs awaiting asks for each one's hold at once.
  private readonly transferById: BatchedRead<TransferRow>;

  constructor(
    private readonly db: SqlDb,
    private readonly options: SqlLedgerStoreOptions = { prepare: true, audit: true },
  ) {
    this.cache = db instanceof PostgresDb && options.cache !== false ? new LedgerCache(options.cacheAccounts) : null;
    this.transferById = new BatchedRead(db, `SELECT ${TRANSFER_COLUMNS} FROM transfers WHERE id = $1::uuid`, 1);
  }

  /** Batches written by each path since the store was made (for benchmarks and tests). */
  readonly paths = { cached: 0, locked: 0, conflicts: 0 };

  async applyBatch(keys: BatchKeys, decide: (snapshot: LedgerSnapshot) => BatchDecision): Promise<BatchDecision> {
    if (this.db instanceof PostgresDb) return this.applyBatchPg(this.db, keys, decide);
    return this.db.transaction(async (tx) => {
      const pendings = await loadPendings(tx, keys.pendingIds);
      const locked = await tx.query<AccountRow>(LOCK_ACCOUNTS, [lockIds(keys, pendings)], this.prepared("ledger_lock_accounts"));
      const existing = await tx.query<ExistingRow>(LOAD_EXISTING, [keys.transferIds, [...pendings.keys()]], this.prepared("ledger_load_existing"));
      const usage = await loadUsageCounters(tx, usageKeysToLoad(keys, pendings));
      const decision = decide(toSnapshot(pendings, locked.rows.map(toAccount), existing.rows, usage));
      for (const q of writeQueries(decision, this.options.audit)) {
        await tx.query(q.text, q.values, this.prepared(q.name)).catch(writeFailure);
      }
      return decision;
    });
  }

  /**
   * The same transaction in two round trips, on a connection in pg's pipeline mode (queries are
   * sent without waiting for the previous one's answer, and answered in order):
   *   1. BEGIN, then ledger_lock_and_read (the lock, then the existence read in a statement of its
   *      own, so with a snapshot taken after the locks are granted that sees every commit that
   *      touched these accounts), then the limit counters when the batch has any;
   *   2. the prepared write, which also chains the audit entries and checks what it wrote
   *      (aborting the transaction otherwise), then COMMIT. A COMMIT behind a failed statement
   *      only rolls the transaction back, so nothing of a failed write is ever committed.
   * Ids travel as binary uuid[] parameters of prepared statements; the function's statements run
   * on plans cached by the connection, and it answers the locked accounts in one text value (see
   * accountsFromLine).
   */
  private async applyBatchPg(db: PostgresDb, keys: BatchKeys, decide: (snapshot: LedgerSnapshot) => BatchDecision): Promise<BatchDecision> {
    // A batch that names no account (Ledger.abandon's alone) is decided on what its ids are, which
    // only the locked path reads: on the cached one a conflict would drop no copy, and it would
    // be decided the same way, and conflict, again and again.
    const cached = keys.accountIds.length > 0 ? this.cache?.snapshotFor(keys) : undefined;
    return cached ? this.applyCached(db, keys, decide, cached) : this.applyLocked(db, keys, decide);
  }

  /**
   * A batch decided on this store's copies of its accounts, written in one round trip: one
   * autocommit statement (or BEGIN, the statements, COMMIT, sent together) whose write updates
   * each account only where it is still at the copied version (casUpdate) and refuses ids recorded
   * elsewhere (ledger_ids_unseen). Another process's write to one of the accounts since, or a
   * repeated id, fails it as a conflict: nothing is written, the cached accounts are dropped, and
   * the writer decides the batch again on the locked path.
   */
  private async applyCached(
    db: PostgresDb,
    keys: BatchKeys,
    decide: (snapshot: LedgerSnapshot) => BatchDecision,
    cached: CachedSnapshot,
  ): Promise<BatchDecision> {
    const cache = this.cache!;
    let decision: BatchDecision;
    try {
      decision = decide(cached.snapshot);
    } catch (error) {
      cache.forget(keys);
      throw error;
    }
    // Decided with no existing ids: a refusal that writes nothing would confirm nothing, and for
    // an id already used the locked path answers `exists…` instead. Rare; decided again there
    // (the cached accounts, which decide changed, are dropped first).
    if (unrecordedRefusal(decision)) {
      cache.forget(keys);
      return this.applyLocked(db, keys, decide);
    }
    let client: pg.PoolClient | null = null;
    let broken = false;
    try {
      const cas = { accounts: [...cached.snapshot.accounts.values()], versions: cached.versions };
      const writes = writeQueries(decision, this.options.audit, undefined, cas).map((q) => this.named(q));
      if (writes.length > 0) {
        client = await db.pipelinePool.connect();
        await together(client, writes.length === 1 ? writes : ["BEGIN", ...writes, "COMMIT"]).catch(writeFailure);
      }
      cache.confirm(cached, keys, writesAccounts(decision));
      this.paths.cached += 1;
      return decision;
    } catch (error) {
      const conflict = error instanceof LedgerConflict;
      cache.forget(keys, conflict);
      if (conflict) this.paths.conflicts += 1;
      // Outside a transaction (one statement) a ROLLBACK only warns; it tells whether the connection still answers.
      if (client) broken = await client.query("ROLLBACK").then(() => false, () => true);
      throw error;
    } finally {
      client?.release(broken);
    }
  }

  /** A statement's prepared name, or none when the store does not prepare. */
  private prepared(name: string | undefined): string | undefined {
    return this.options.prepare ? name : undefined;
  }

  private named(q: WriteQuery): WriteQuery {
    return { text: q.text, values: q.values, name: this.prepared(q.name) };
  }

  private async applyLocked(db: PostgresDb, keys: BatchKeys, decide: (snapshot: LedgerSnapshot) => BatchDecision): Promise<BatchDecision> {
    const client = await db.pipelinePool.connect();
    let broken = false;
    try {
      // Immutable rows, so they are read before the transaction (they say which accounts to lock).
      const pendings = keys.pendingIds.length === 0 ? new Map<string, LoadedPending>() : await loadPendings(clientExecutor(client), keys.pendingIds);
      // Limit counters are guarded by the payer's account lock, taken before they are read; most
      // batches have none. So are the usage rows that the pendings it settles counted (they give
      // usage back).
      const usageKeys = usageKeysToLoad(keys, pendings);
      const [, read, usageRead] = await together(client, [
        "BEGIN",
        {
          text: LOCK_AND_READ,
          values: [uuidArrayBinary(lockIds(keys, pendings), idOf), uuidArrayBinary(keys.transferIds, idOf), uuidArrayBinary([...pendings.keys()], idOf)],
          name: this.prepared("ledger_lock_and_read"),
        },
        usageKeys.length === 0
          ? null
          : { text: SELECT_USAGE, values: [uuidArrayBinary(usageKeys, (k) => k.accountId), textArrayBinary(usageKeys, (k) => k.periodKey)], name: this.prepared("ledger_select_usage") },
      ]);
      const [accounts, ...others] = read!.rows as { line: string }[];
      const existing = others.map((r) => JSON.parse(r.line) as ExistingRow);
      const usage = usageCountersFrom((usageRead?.rows ?? []) as UsageCounterRow[]);
      const locked = accountsFromLine(accounts!.line);
      const snapshot = toSnapshot(pendings, locked.accounts, existing, usage);
      const decision = decide(snapshot);
      const all = [...snapshot.accounts.values()];
      const writes = writeQueries(decision, this.options.audit, { accounts: all, tids: locked.tids }).map((q) => this.named(q));
      await together(client, [...writes, "COMMIT"]).catch(writeFailure);
      // The write moved every locked account's version by one (writeDecision); no write, none.
      const step = writesAccounts(decision) ? 1n : 0n;
      this.cache?.remember({ ...keys, usageKeys }, snapshot, all.map((a) => locked.versions.get(a.id)! + step), step);
      this.paths.locked += 1;
      return decision;
    } catch (error) {
      this.cache?.forget(keys);
      if (error instanceof LedgerConflict) this.paths.conflicts += 1;
      // Still in the transaction when the first round trip failed; after the second, a ROLLBACK
      // outside one only warns. A connection that cannot answer it is not given back to the pool.
      broken = await client.query("ROLLBACK").then(() => false, () => true);
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async createAccounts(accounts: Account[]): Promise<void> {
    await insertAccounts(this.db, accounts);
  }

  async getAccounts(ids: string[]): Promise<Account[]> {
    const result = await this.db.query<AccountRow>(GET_ACCOUNTS, [ids], this.prepared("ledger_get_accounts"));
    return result.rows.map(toAccount);
  }

  async getTransfer(id: string): Promise<Transfer | null> {
    const [row] = await this.transferById.query([id]);
    return row ? toTransfer(row) : null;
  }

  async getFailures(ids: string[]): Promise<TransferFailure[]> {
    const result = await this.db.query<FailureRow>(GET_FAILURES, [ids]);
    return result.rows.map(toFailure);
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

/** Whether a transfer of the batch was refused in a way that is not recorded (bad input, currency mismatch, a failed linked group…). */
function unrecordedRefusal(decision: BatchDecision): boolean {
  for (const group of decision.results) {
    for (const r of group) if (!SUCCESS_CODES.has(r.result) && !RECORDED_FAILURES.has(r.result)) return true;
  }
  return false;
}

type ExistingRow = TransferRow & FailureRow & { src: "t" | "f" | "r" };

/** The accounts to lock: those named by the batch and those of the pendings it settles. */
function lockIds(keys: BatchKeys, pendings: Map<string, LoadedPending>): string[] {
  if (pendings.size === 0) return keys.accountIds;
  const ids = new Set(keys.accountIds);
  for (const { transfer: p } of pendings.values()) ids.add(p.debitAccountId).add(p.creditAccountId);
  return [...ids];
}

const LOCK_AND_READ = "SELECT line FROM ledger_lock_and_read($1::uuid[], $2::uuid[], $3::uuid[]) AS line";
const SELECT_USAGE = selectUsageCounters("$1", "$2");
const idOf = (id: string) => id;
const textOf = (text: string | null) => text;

type PgQuery = string | { text: string; values: unknown[]; name?: string };

/**
 * Sends the queries in one write (the client is in pipeline mode) and waits for every answer;
 * null stands for a query not sent, answered null. Rejects with the first failure in order:
 * those after it fail only because the transaction is aborted (a COMMIT after it answers
 * ROLLBACK and does not fail).
 */
async function together(client: pg.PoolClient, queries: (PgQuery | null)[]): Promise<(pg.QueryResult | null)[]> {
  const stream = (client as unknown as { connection: { stream: { cork?: () => void; uncork?: () => void } } }).connection.stream;
  stream.cork?.();
  let sent: Promise<pg.QueryResult | null>[];
  try {
    sent = queries.map((q) => (q === null ? Promise.resolve(null) : client.query(q)));
  } finally {
    stream.uncork?.();
  }
  const settled = await Promise.allSettled(sent);
  const failed = settled.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<pg.QueryResult | null>).value);
}

/**
 * The accounts of ledger_lock_and_read's first row: "id,institution,currency,kind,status,flags,dp,
 * dpo,cp,cpo,tid,version,owner" per account, ';' between accounts, owner as 'x' and the hex of its
 * UTF-8 or empty for NULL (no other field can hold ',' or ';'), tid the locked row version's
 * location, version the row's count of ledger writes.
 */
function accountsFromLine(line: string): { accounts: Account[]; tids: Map<string, string>; versions: Map<string, bigint> } {
  const tids = new Map<string, string>();
  const versions = new Map<string, bigint>();
  const accounts: Account[] = [];
  // Scanned in place rather than split into arrays of strings; the fields most accounts share
  // (institution, currency, kind, status) reuse the previous account's string when they match.
  let institutionId = "";
  let currency = "";
  let kind = "";
  let status = "";
  let at = 0;
  let end = 0;
  /** The next field, ended by ',' (or by ';' or the end of the line for the last one). */
  const field = (last = false): string => {
    end = line.indexOf(last ? ";" : ",", at);
    if (end === -1) end = line.length;
    const value = line.slice(at, end);
    at = end + 1;
    return value;
  };
  /** The next field, as `previous` itself when it holds the same text. */
  const shared = (previous: string): string => {
    if (previous !== "" && line.startsWith(previous, at) && line.charCodeAt(at + previous.length) === COMMA) {
      at += previous.length + 1;
      return previous;
    }
    return field();
  };
  const balance = (): bigint => {
    if (line.charCodeAt(at) === ZERO && line.charCodeAt(at + 1) === COMMA) {
      at += 2;
      return 0n;
    }
    return BigInt(field());
  };
  while (at < line.length) {
    const id = field();
    institutionId = shared(institutionId);
    currency = shared(currency);
    kind = shared(kind);
    status = shared(status);
    const flags = Number(field());
    const debitsPending = balance();
    const debitsPosted = balance();
    const creditsPending = balance();
    const creditsPosted = balance();
    tids.set(id, field());
    versions.set(id, BigInt(field()));
    const owner = field(true);
    accounts.push({
      id,
      institutionId,
      currency,
      kind: kind as AccountKind,
      ownerRef: owner === "" ? null : Buffer.from(owner.slice(1), "hex").toString("utf8"),
      status: status as AccountStatus,
      flags,
      debitsPending,
      debitsPosted,
      creditsPending,
      creditsPosted,
    });
  }
  return { accounts, tids, versions };
}

const COMMA = 44;
const ZERO = 48;

/** Built from rows read after the locks: whatever touched these accounts before has committed by now. */
function toSnapshot(
  pendings: Map<string, LoadedPending>,
  lockedAccounts: Account[],
  rows: ExistingRow[],
  usage: Map<string, UsageRow>,
): LedgerSnapshot {
  const snapshot: LedgerSnapshot = {
    accounts: new Map(lockedAccounts.map((a) => [a.id, a])),
    existing: new Map(),
    pendings: new Map<string, PendingState>(),
    usage,
  };
  for (const { transfer, counted } of pendings.values()) snapshot.pendings.set(transfer.id, { transfer, resolution: null, counted });
  for (const row of rows) {
    if (row.src === "t") snapshot.existing.set(row.id, toTransfer(row));
    else if (row.src === "f" && !snapshot.existing.has(row.id)) snapshot.existing.set(row.id, toFailure(row));
    else if (row.src === "r") {
      const state = snapshot.pendings.get(row.id);
      if (state) state.resolution = row.kind === "post" ? "posted" : "voided";
    }
  }
  return snapshot;
}

/** Array parameters as text literals (any driver) or in binary (pg, which sends a Buffer as binary). */
const TEXT_ARRAYS = { uuid: uuidArray, int8: intArray, int4: intArray, time: timeArray, text: textArray };
const BINARY_ARRAYS = { uuid: uuidArrayBinary, int8: int8ArrayBinary, int4: int4ArrayBinary, time: timeArrayBinary, text: textArrayBinary };

/** Every account of a batch decided on cached values, as decided, and the row version of each (in the same order). */
interface CasAccounts {
  accounts: Account[];
  versions: bigint[];
}

/**
 * Every account a batch locked, as decided, with the row version (ctid) the lock returned: all are
 * written, changed or not, so that each one's version moves and a concurrent cached decision made
 * on the old version fails (a refusal was decided on the account too).
 */
interface LockedAccounts {
  accounts: Account[];
  tids: Map<string, string>;
}

interface WriteQuery {
  text: string;
  values: unknown[];
  /** Prepared once per connection under this name. */
  name?: string;
}

/** Whether the batch's write statement runs, and so writes (and moves the version of) its accounts. */
const writesAccounts = (d: BatchDecision) => d.transfers.length + d.failures.length > 0;

/**
 * The statements that write a decided batch, in order: the write (which also writes its limit
 * usage), or the usage alone when nothing else is written; then the usage rows its pendings
 * counted (rare).
 */
function writeQueries(d: BatchDecision, audit: boolean, locked?: LockedAccounts, cas?: CasAccounts): WriteQuery[] {
  const queries: WriteQuery[] = [];
  if (writesAccounts(d)) queries.push(writeDecision(d, audit, locked, cas));
  else {
    const usage = saveUsageCountersQuery(d.usage ?? []);
    if (usage) queries.push(usage);
  }
  const counted = saveCountedQuery(d.counted ?? []);
  if (counted) queries.push(counted);
  return queries;
}

function writeDecision(
  d: BatchDecision,
  audit: boolean,
  /** The locked accounts, from ledger_lock_and_read: PostgreSQL only, whose driver also takes arrays in binary. */
  locked?: LockedAccounts,
  cas?: CasAccounts,
): WriteQuery {
  const tids = locked?.tids;
  const t = d.transfers;
  const f = d.failures;
  // A pending settled in the same batch is never armed: the statement's DELETE could not see it.
  const disarmed = new Set(t.filter((x) => x.pendingId !== null).map((x) => x.pendingId!));
  const armed = t.filter((x) => x.expiresAt !== null && !disarmed.has(x.id));
  const at = (t[0] ?? f[0])!.createdAt;
  const usage = latestUsageCounters(d.usage ?? []);
  const shape: WriteShape = {
    audit,
    byTid: tids !== undefined,
    cas: cas !== undefined,
    failures: f.length > 0,
    timeouts: armed.length > 0 || disarmed.size > 0,
    usage: usage.length > 0,
    notices: (d.notices ?? []).length > 0,
  };
  const binary = tids !== undefined || cas !== undefined;
  const e = binary ? BINARY_ARRAYS : TEXT_ARRAYS;
  const params: unknown[] = [
    e.uuid(t, (x) => x.id),
    e.uuid(t, (x) => x.debitAccountId),
    e.uuid(t, (x) => x.creditAccountId),
    e.int8(t, (x) => x.amountMinor),
    e.text(t, (x) => x.currency),
    e.text(t, (x) => x.kind),
    e.uuid(t, (x) => x.pendingId),
    e.int4(t, (x) => x.timeoutSec),
    e.time(t, (x) => x.expiresAt),
    e.text(t, (x) => x.code),
    e.text(t, (x) => x.reference),
    at.toISOString(),
  ];
  if (shape.failures) {
    params.push(
      e.uuid(f, (x) => x.id),
      e.text(f, (x) => x.result),
      e.text(f, (x) => x.kind),
      e.uuid(f, (x) => x.debitAccountId),
      e.uuid(f, (x) => x.creditAccountId),
      e.int8(f, (x) => x.amountMinor),
      e.uuid(f, (x) => x.pendingId),
      e.text(f, (x) => x.limitParty),
    );
  }
  const accounts = cas?.accounts ?? locked?.accounts ?? d.accounts;
  params.push(
    e.uuid(accounts, (a) => a.id),
    e.int8(accounts, (a) => a.debitsPending),
    e.int8(accounts, (a) => a.debitsPosted),
    e.int8(accounts, (a) => a.creditsPending),
    e.int8(accounts, (a) => a.creditsPosted),
  );
  if (cas) {
    // Status and flags as copied: decide never changes them.
    params.push(int8ArrayBinary(cas.versions, (v) => v), textArrayBinary(accounts, (a) => a.status), int4ArrayBinary(accounts, (a) => a.flags));
  }
  if (tids) {
    params.push(
      tidArrayBinary(accounts, (a) => {
        const tid = tids.get(a.id);
        if (tid === undefined) throw new Error(`account ${a.id} was not locked by this batch`);
        return tid;
      }),
    );
  }
  if (shape.timeouts) params.push(e.uuid(armed, (x) => x.id), e.time(armed, (x) => x.expiresAt), e.uuid([...disarmed], (x) => x));
  if (shape.usage) params.push(e.uuid(usage, (u) => u.accountId), e.text(usage, (u) => u.periodKey), e.int8(usage, (u) => u.amountMinor), e.int4(usage, (u) => u.count));
  // Every transfer and failure is named, with a digest, by an audit entry chained in this statement.
  if (audit) {
    const columns = auditChainValues(preparedChainParams(ledgerAuditPrepared(d), at)) as (string | null)[][];
    for (const column of columns) params.push(binary ? textArrayBinary(column, textOf) : column);
  }
  const notices = d.notices ?? [];
  if (shape.notices) params.push(...outboxParams(notices));
  const statement = writeStatement(shape);
  return { text: statement.text, values: params, name: statement.name };
}

/** A write that failed because a concurrent writer got one of its ids (or settled one of its pendings) first is decided again. */
function writeFailure(error: unknown): never {
  const message = (error as { message?: unknown } | null)?.message;
  if (isLedgerUniqueViolation(error) || (typeof message === "string" && message.includes(CONFLICT))) throw new LedgerConflict();
  throw error;
}

const LEDGER_UNIQUE_TABLES = new Set(["transfers", "transfer_failures"]);

/** A unique violation on a transfer or failure id, or on a pending's single resolution. */
function isLedgerUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown; table?: unknown } | null;
  return e?.code === "23505" && typeof e.table === "string" && LEDGER_UNIQUE_TABLES.has(e.table);
}

function outboxParams(notices: OutboxNotice[]): string[] {
  return [
    uuidArray(notices, (n) => n.id),
    uuidArray(notices, (n) => n.transferId),
    textArray(notices, (n) => n.msisdn),
    textArray(notices, (n) => n.template),
    textArray(notices, (n) => JSON.stringify(n.params)),
    textArray(notices, (n) => n.language ?? null),
    textArray(notices, (n) => n.kind),
    uuidArray(notices, (n) => n.institutionId),
  ];
}

/** Writes new accounts (zero balances) on db or in a transaction (an institution's, with its row). */
export async function insertAccounts(db: SqlExecutor, accounts: Account[]): Promise<void> {
  await db.query(
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

import pg from "pg";
import type { PGlite } from "@electric-sql/pglite";

/** The minimal SQL surface the hand-written stores need, met by both PostgreSQL and PGlite. */
export interface SqlExecutor {
  /**
   * `name` prepares the statement once per connection and reuses its plan: worth it for the
   * ledger's hot statements, which are large and run hundreds of times a second.
   */
  query<R = Record<string, unknown>>(text: string, params?: unknown[], name?: string): Promise<SqlResult<R>>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
}

export interface SqlResult<R> {
  rows: R[];
  rowCount: number;
}

export interface SqlDb extends SqlExecutor {
  readonly kind: "postgres" | "pglite";
  /** Resolves when the database answers `SELECT 1` within timeoutMs; rejects otherwise (/readyz). */
  ping(timeoutMs: number): Promise<void>;
  /** Runs fn in one transaction: COMMIT when it resolves, ROLLBACK when it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface PostgresOptions {
  connectionString: string;
  /** Schema for every connection's search_path; tests use one schema per file. */
  schema?: string;
  maxConnections?: number;
  /**
   * How long opening a connection may take, and waiting for a free one in a pool (DB_CONNECT_TIMEOUT_MS).
   * 0 or unset: no limit, so a server that accepts TCP and never answers held its caller for ever.
   */
  connectTimeoutMs?: number;
  /**
   * How long one statement may run (DB_STATEMENT_TIMEOUT_MS): the server cancels it then (its
   * statement_timeout), and the client stops waiting for the answer ANSWER_GRACE_MS later, for a
   * server or network that went silent (the connection is then dropped). 0 or unset: no limit, for
   * maintenance (migrations, `fingate ledger verify`) whose statements may rightly run for minutes.
   */
  statementTimeoutMs?: number;
}

/** Past the server's own statement_timeout, how long the client still waits for its cancel to arrive. */
export const ANSWER_GRACE_MS = 1_000;

export function pgPoolConfig(options: PostgresOptions): pg.PoolConfig {
  const statementMs = options.statementTimeoutMs || undefined;
  return {
    connectionString: options.connectionString,
    max: options.maxConnections ?? 16,
    options: options.schema ? `-c search_path="${options.schema}"` : undefined,
    connectionTimeoutMillis: options.connectTimeoutMs || undefined,
    statement_timeout: statementMs,
    query_timeout: statementMs && statementMs + ANSWER_GRACE_MS,
  };
}

/** PostgreSQL did not answer in time (a connection or a statement): unreachable, hung or overloaded. */
export class DatabaseTimeout extends Error {
  override readonly name = "DatabaseTimeout";
}

const isReadTimeout = (error: unknown): boolean => error instanceof Error && error.message === "Query read timeout";

/**
 * pg's own timeout errors ("Query read timeout", "timeout exceeded when trying to connect") name
 * neither the database nor the setting: a log line or an operator had to guess. Others pass as they are.
 */
function namedTimeout(error: unknown, options: PostgresOptions): unknown {
  const message = error instanceof Error ? error.message : "";
  if (isReadTimeout(error)) {
    return new DatabaseTimeout(`PostgreSQL did not answer a statement within ${options.statementTimeoutMs! + ANSWER_GRACE_MS} ms (DB_STATEMENT_TIMEOUT_MS); the connection was dropped`, { cause: error });
  }
  if (/timeout exceeded when trying to connect|connection timeout/i.test(message)) {
    return new DatabaseTimeout(`PostgreSQL gave no connection within ${options.connectTimeoutMs} ms (DB_CONNECT_TIMEOUT_MS)`, { cause: error });
  }
  return error;
}

/** withAdvisoryLock waited waitMs for the lock, another session holding it all along. */
export class AdvisoryLockTimeout extends Error {
  override readonly name = "AdvisoryLockTimeout";
  constructor(readonly key: number, readonly waitMs: number, options?: ErrorOptions) {
    super(`advisory lock ${key} still held by another session after ${waitMs} ms`, options);
  }
}


/** The SqlExecutor of one checked-out client (a transaction's, or the ledger's pipelined one). */
export function clientExecutor(client: pg.PoolClient): SqlExecutor {
  return {
    query: async <R>(text: string, params?: unknown[], name?: string) => {
      const result = await client.query({ text, values: params as unknown[], name });
      return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
    },
    exec: async (script: string) => {
      await client.query(script);
    },
  };
}

export class PostgresDb implements SqlDb {
  readonly kind = "postgres" as const;
  readonly pool: pg.Pool;
  /**
   * Connections in pg's pipeline mode, for the ledger's batches only: the queries a batch issues
   * without waiting (BEGIN and its lock, the write and its COMMIT) go out in one write and are
   * answered in order, one round trip instead of one each. Kept apart from `pool`, which Prisma
   * and every other store share and which keeps pg's one-query-at-a-time behaviour. Opened on
   * first use, like `pool`'s.
   */
  readonly pipelinePool: pg.Pool;
  readonly schema: string | undefined;
  private readonly options: PostgresOptions;
  /** ping's one connection, apart from the pools; opened on first use. */
  private pingPool: pg.Pool | undefined;

  constructor(options: PostgresOptions) {
    this.options = options;
    this.schema = options.schema;
    this.pool = new pg.Pool(pgPoolConfig(options));
    this.pipelinePool = new pg.Pool({ ...pgPoolConfig(options), pipeline: true });
    // An idle client's error (server restart) must not crash the process; the next query reconnects.
    this.pool.on("error", () => undefined);
    this.pipelinePool.on("error", () => undefined);
  }

  async query<R>(text: string, params?: unknown[], name?: string): Promise<SqlResult<R>> {
    try {
      const result = await this.pool.query({ text, values: params as unknown[], name });
      return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
    } catch (error) {
      return this.rethrowNamed(error);
    }
  }

  async exec(script: string): Promise<void> {
    await this.pool.query(script).catch(this.rethrowNamed);
  }

  /** Rethrows pg's timeout errors as DatabaseTimeout naming the setting; others as they are. */
  private readonly rethrowNamed = (error: unknown): never => {
    throw namedTimeout(error, this.options);
  };

  /**
   * On a connection of its own, not the pool's: a pool busy with payments is not an unreachable
   * database. A server that accepts and never answers (packets dropped) is given up on at the
   * deadline, the connection attempt destroyed or the connection dropped, rather than waited on
   * until TCP gives up minutes later: the next ping is a new attempt, so a database back up is seen.
   */
  async ping(timeoutMs: number): Promise<void> {
    if (!this.pingPool) {
      this.pingPool = new pg.Pool({ ...pgPoolConfig(this.options), max: 1, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
      this.pingPool.on("error", () => undefined);
    }
    await this.pingPool.query("SELECT 1");
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect().catch(this.rethrowNamed);
    const tx = clientExecutor(client);
    let broken = false;
    try {
      await client.query("BEGIN");
      const value = await fn(tx);
      await client.query("COMMIT");
      return value;
    } catch (error) {
      // A statement not answered still holds the connection: a ROLLBACK would queue behind it
      // and wait out a second timeout. The connection is dropped instead (the server rolls back).
      broken = isReadTimeout(error) || (await client.query("ROLLBACK").then(() => false, () => true));
      throw namedTimeout(error, this.options);
    } finally {
      client.release(broken);
    }
  }

  /**
   * Runs fn while this process holds a session-level advisory lock on (key, this schema), taken on
   * a connection of its own, outside the pools: fn may use the pools freely (a pool of one
   * connection included) without waiting on the lock's connection, and a crashed holder's session
   * ends and lets the lock go. Scoped to the schema, as each schema is a deployment of its own.
   * waitMs bounds the wait for another holder (the server's lock_timeout): past it, AdvisoryLockTimeout
   * and fn does not run. The lock's session has no statement timeout (its one statement is the wait).
   */
  async withAdvisoryLock<T>(key: number, fn: () => Promise<T>, waitMs?: number): Promise<T> {
    const config = pgPoolConfig({ ...this.options, statementTimeoutMs: 0 });
    const client = new pg.Client({ ...config, lock_timeout: waitMs, query_timeout: waitMs && waitMs + ANSWER_GRACE_MS });
    client.on("error", () => undefined);
    await client.connect().catch(this.rethrowNamed);
    try {
      await client.query("SELECT pg_advisory_lock($1, hashtext(coalesce(current_schema(), '')))", [key]).catch((error: unknown) => {
        // 55P03 lock_not_available: lock_timeout ran out; a read timeout: the server went silent meanwhile.
        if ((error as { code?: unknown }).code === "55P03" || isReadTimeout(error)) throw new AdvisoryLockTimeout(key, waitMs!, { cause: error });
        throw error;
      });
      return await fn();
    } finally {
      // Ending the session releases the lock.
      await client.end().catch(() => undefined);
    }
  }

  /** A new PostgresDb (pools of its own) on the same database and schema, options changed. */
  withOptions(changes: Partial<Omit<PostgresOptions, "connectionString" | "schema">>): PostgresDb {
    return new PostgresDb({ ...this.options, ...changes });
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.end(), this.pipelinePool.end(), this.pingPool?.end()]);
  }
}

export class PgliteDb implements SqlDb {
  readonly kind = "pglite" as const;

  constructor(
    readonly pglite: PGlite,
    private readonly afterClose?: () => Promise<void>,
  ) {}

  /** dataDir undefined → in memory (tests); a path → persisted there. afterClose runs once the files are written out (the directory's lock). */
  static async open(dataDir?: string, afterClose?: () => Promise<void>): Promise<PgliteDb> {
    // Loaded only when used: the embedded database costs ~50 MB of memory a PostgreSQL gateway never needs.
    const { PGlite } = await import("@electric-sql/pglite");
    const pglite = dataDir ? new PGlite(dataDir) : new PGlite();
    await pglite.waitReady;
    return new PgliteDb(pglite, afterClose);
  }

  async query<R>(text: string, params?: unknown[]): Promise<SqlResult<R>> {
    const result = await this.pglite.query<R>(text, params);
    return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
  }

  /** In the process: nothing to time out. */
  async ping(): Promise<void> {
    await this.pglite.query("SELECT 1");
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.pglite.transaction(async (inner) =>
      fn({
        query: async <R>(text: string, params?: unknown[]) => {
          const result = await inner.query<R>(text, params);
          return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
        },
        exec: async (script: string) => {
          await inner.exec(script);
        },
      }),
    );
  }

  async exec(script: string): Promise<void> {
    await this.pglite.exec(script);
  }

  async close(): Promise<void> {
    if (!this.pglite.closed) await this.pglite.close();
    await this.afterClose?.();
  }
}

/**
 * A data exception (SQLSTATE class 22: a value the column cannot take, text with a NUL …): the
 * values' fault, not the batch's. Not the statements' own integrity aborts (sqlAbortWhen), which
 * fail a cast of their "fingate …" message and so are class 22 too.
 */
export function isBadValueSqlError(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code !== "string" || !code.startsWith("22")) return false;
  return !(code === "22P02" && typeof message === "string" && message.includes('"fingate '));
}

/** SQLSTATEs worth retrying: serialization failure and deadlock. */
export function isRetryableSqlError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "40001" || code === "40P01";
}

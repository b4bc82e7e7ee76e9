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
}

export function pgPoolConfig(options: PostgresOptions): pg.PoolConfig {
  return {
    connectionString: options.connectionString,
    max: options.maxConnections ?? 16,
    options: options.schema ? `-c search_path="${options.schema}"` : undefined,
  };
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
    const result = await this.pool.query({ text, values: params as unknown[], name });
    return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
  }

  async exec(script: string): Promise<void> {
    await this.pool.query(script);
  }

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
    const client = await this.pool.connect();
    const tx = clientExecutor(client);
    let broken = false;
    try {
      await client.query("BEGIN");
      const value = await fn(tx);
      await client.query("COMMIT");
      return value;
    } catch (error) {
      broken = await client.query("ROLLBACK").then(
        () => false,
        () => true,
      );
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /**
   * Runs fn while this process holds a session-level advisory lock on (key, this schema), taken on
   * a connection of its own, outside the pools: fn may use the pools freely (a pool of one
   * connection included) without waiting on the lock's connection, and a crashed holder's session
   * ends and lets the lock go. Scoped to the schema, as each schema is a deployment of its own.
   */
  async withAdvisoryLock<T>(key: number, fn: () => Promise<T>): Promise<T> {
    const client = new pg.Client(pgPoolConfig(this.options));
    client.on("error", () => undefined);
    await client.connect();
    try {
      await client.query("SELECT pg_advisory_lock($1, hashtext(coalesce(current_schema(), '')))", [key]);
      return await fn();
    } finally {
      // Ending the session releases the lock.
      await client.end().catch(() => undefined);
    }
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

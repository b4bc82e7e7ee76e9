/**
 * Single-statement reads that many USSD hops make at once (who is calling, who is paid, the latest
 * SIM swap …), coalesced: the calls made in one turn of the event loop go to the database as one
 * statement, the original query run once per call's parameters through a LATERAL join:
 *
 *   SELECT … FROM unnest((SELECT $1::text[]), …) WITH ORDINALITY AS fg_batch(p1, …, i)
 *     CROSS JOIN LATERAL (<the query, $n read from fg_batch.pn>) q  ORDER BY call, row
 *
 * so each call gets exactly the rows its own query would (its ORDER BY and LIMIT included), from
 * one snapshot. A round trip's write and wake-up cost far more than the lookup itself, and 200
 * sessions in flight make dozens of the same lookup per turn. Parameters travel as text and are
 * cast where the query casts them. Should a batch fail, its calls are run one by one, so one
 * call's bad parameter fails only that call, as it would have alone.
 */
import type { SqlExecutor } from "./sql.js";
import { statementName } from "./statement-name.js";

/** Calls per statement at most. */
const MAX_BATCH = 200;

interface Call<R> {
  params: (string | number | null)[];
  resolve(rows: R[]): void;
  reject(error: unknown): void;
}

export class BatchedRead<R extends object> {
  private readonly batchSql: string;
  // Prepared once per connection (both forms): parsing and planning the batch cost more than running it.
  private readonly batchName: string;
  private readonly aloneName: string;
  private waiting: Call<R>[] = [];
  private scheduled = false;

  /** `sql` reads with $1 … $arity only (no other placeholders), as one statement. */
  constructor(
    private readonly db: SqlExecutor,
    private readonly sql: string,
    private readonly arity: number,
  ) {
    const columns = Array.from({ length: arity }, (_, k) => `p${k + 1}`);
    // Each array behind a scalar sub-select, so the planner cannot count its elements: a custom plan
    // (made for the values at hand) then costs the same as the generic one, and PostgreSQL keeps
    // the generic plan after its first five runs instead of planning every execution again (which
    // cost more than running a one-call batch). The plan's shape does not depend on the count: the
    // window function keeps the lateral query a per-call index look-up.
    const arrays = columns.map((_, k) => `(SELECT $${k + 1}::text[])`);
    const inner = sql.replace(/\$(\d+)\b/g, (_, n: string) => {
      if (Number(n) < 1 || Number(n) > arity) throw new Error(`BatchedRead: $${n} is beyond the query's ${arity} parameters`);
      return `fg_batch.p${n}`;
    });
    // row_number() over the query's output keeps its own order (ORDER BY … LIMIT) for each call.
    this.batchSql = `SELECT fg_batch.i AS batch_index, q.* FROM unnest(${arrays.join(", ")}) WITH ORDINALITY AS fg_batch(${columns.join(", ")}, i)
  CROSS JOIN LATERAL (SELECT fg_q.*, row_number() OVER () AS batch_row FROM (${inner}) fg_q) q
  ORDER BY fg_batch.i, q.batch_row`;
    this.batchName = statementName(this.batchSql);
    this.aloneName = statementName(sql);
  }

  query(params: (string | number | null)[]): Promise<R[]> {
    if (params.length !== this.arity) return Promise.reject(new Error(`BatchedRead: ${this.arity} parameters expected`));
    return new Promise((resolve, reject) => {
      this.waiting.push({ params, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // After the I/O of this turn: every hop whose request or reply arrived in it is in.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const calls = this.waiting;
    this.waiting = [];
    for (let i = 0; i < calls.length; i += MAX_BATCH) void this.run(calls.slice(i, i + MAX_BATCH));
  }

  private async run(calls: Call<R>[]): Promise<void> {
    if (calls.length === 1) return this.alone(calls[0]!);
    let rows: (R & { batch_index: string | number; batch_row: unknown })[];
    try {
      const columns = Array.from({ length: this.arity }, (_, k) => calls.map((c) => (c.params[k] === null ? null : String(c.params[k]))));
      rows = (await this.db.query<R & { batch_index: string | number; batch_row: unknown }>(this.batchSql, columns, this.batchName)).rows;
    } catch {
      await Promise.all(calls.map((c) => this.alone(c)));
      return;
    }
    const byCall: R[][] = calls.map(() => []);
    for (const row of rows) {
      const { batch_index: index, batch_row: _row, ...rest } = row;
      byCall[Number(index) - 1]!.push(rest as unknown as R);
    }
    calls.forEach((c, i) => c.resolve(byCall[i]!));
  }

  private async alone(call: Call<R>): Promise<void> {
    try {
      call.resolve((await this.db.query<R>(this.sql, call.params, this.aloneName)).rows);
    } catch (error) {
      call.reject(error);
    }
  }
}

// A separate gateway process for the multi-process ledger tests. It opens its own pool on
// DATABASE_URL with search_path DATABASE_SCHEMA, builds a Ledger, prints "ready", waits for a
// line on stdin, then runs one mode:
//   WORKER_MODE=list:       submits the transfers in the JSON file WORKER_PLAN all at once and
//                           prints one line `done <json results>`.
//   WORKER_MODE=continuous: submits plannedGroup(WORKER_SEED, n) for n = 0, 1, … from
//                           WORKER_CONCURRENCY submitters until killed, printing `r <n> <codes>`
//                           after each answer.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { Ledger } from "../../src/core/ledger/ledger.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { PostgresDb, isRetryableSqlError } from "../../src/infra/db/sql.js";
import { fromWire, plannedGroup, type WireTransfer } from "./ledger-worker-plan.js";

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

async function main(): Promise<void> {
  const db = new PostgresDb({ connectionString: env("DATABASE_URL"), schema: env("DATABASE_SCHEMA"), maxConnections: 8 });
  const ledger = new Ledger(new SqlLedgerStore(db), { isRetryable: isRetryableSqlError, maxBatchTransfers: 64, maxAttempts: 20 });
  await db.query("SELECT 1 FROM accounts LIMIT 1");
  process.stdout.write("ready\n");
  const go = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => go.once("line", () => resolve()));
  go.close();

  if (env("WORKER_MODE") === "list") {
    const plan = JSON.parse(readFileSync(env("WORKER_PLAN"), "utf8")) as WireTransfer[];
    const results = await Promise.all(plan.map((t) => ledger.transfer(fromWire(t))));
    process.stdout.write(`done ${JSON.stringify(results)}\n`);
    await ledger.close();
    await db.close();
    return;
  }

  const seed = env("WORKER_SEED");
  const wallets = env("WORKER_WALLETS").split(",");
  const feeAccount = env("WORKER_FEE_ACCOUNT");
  let next = 0;
  const submitter = async () => {
    for (;;) {
      const n = next++;
      const results = await ledger.submitLinked(plannedGroup(seed, n, wallets, feeAccount));
      process.stdout.write(`r ${n} ${results.map((r) => r.result).join(",")}\n`);
    }
  };
  await Promise.all(Array.from({ length: Number(process.env.WORKER_CONCURRENCY ?? 32) }, submitter));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});

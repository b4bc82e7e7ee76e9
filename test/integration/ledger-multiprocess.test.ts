// Several gateway processes on one PostgreSQL schema: overlapping ids submitted by two processes
// at once move money once, and a process killed mid-batch leaves a ledger that verifies.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { derivedUuid, uuidv7 } from "../../src/core/ledger/ids.js";
import { AccountFlags, RECORDED_FAILURES, type Account, type TransferInput, type TransferResult } from "../../src/core/ledger/types.js";
import { verifyLedger } from "../../src/infra/db/ledger-verify.js";
import { TEST_DATABASE_URL } from "../helpers/db.js";
import { expectLedgerConsistent, storedBalances, useLedgerEnv, type LedgerEnv } from "../helpers/ledger-setup.js";
import { plannedGroup, toWire } from "../helpers/ledger-worker-plan.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const WORKER = path.join(ROOT, "test/helpers/ledger-worker.ts");
const WALLET = AccountFlags.debitsMustNotExceedCredits;

interface Worker {
  child: ChildProcessWithoutNullStreams;
  lines: string[];
  /** Resolves with the first line that starts with prefix. */
  waitFor(prefix: string, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

/** Starts test/helpers/ledger-worker.ts in its own Node process (tsx as an import hook, so the pid is the worker's). */
function startWorker(env: LedgerEnv, extra: Record<string, string>): Worker {
  const child = spawn(process.execPath, ["--import", "tsx", WORKER], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: env.schema!, ...extra },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const waiters: { prefix: string; resolve: (line: string) => void }[] = [];
  let err = "";
  child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(line);
    for (const w of waiters.filter((x) => line.startsWith(x.prefix))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(line);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    lines,
    exited,
    stderr: () => err,
    waitFor: (prefix, timeoutMs = 20_000) => {
      const seen = lines.find((l) => l.startsWith(prefix));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`worker never printed "${prefix}"; stderr: ${err}`)), timeoutMs);
        waiters.push({ prefix, resolve: (l) => (clearTimeout(timer), resolve(l)) });
        void exited.then(({ code }) => {
          clearTimeout(timer);
          reject(new Error(`worker exited (${code}) before "${prefix}"; stderr: ${err}`));
        });
      });
    },
  };
}

/** Runs `tsx src/cli.ts ledger verify` against the test schema. */
function cliVerify(env: LedgerEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "src/cli.ts"), "ledger", "verify"], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: env.schema!, LOG_LEVEL: "silent" },
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.once("exit", (code) => resolve({ code, out }));
  });
}

describe("ledger shared by several processes (postgres)", () => {
  const env = useLedgerEnv("postgres");
  let fees: Account;
  const workers: Worker[] = [];
  const tmp = mkdtempSync(path.join(tmpdir(), "fingate-ledger-"));

  beforeAll(async () => {
    fees = await env.open("fee_income");
  });

  // After hooks run last-registered first: the workers are gone before useLedgerEnv drops the schema.
  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
    await Promise.all(workers.map((w) => w.exited));
    rmSync(tmp, { recursive: true, force: true });
  });

  async function wallets(count: number, fundMinor: bigint): Promise<Account[]> {
    const made = await Promise.all(Array.from({ length: count }, () => env.open("customer_wallet", WALLET)));
    const results = await env.ledger.submitLinked(
      made.map((w) => ({ id: uuidv7(), debitAccountId: env.bank.id, creditAccountId: w.id, amountMinor: fundMinor, code: "cash_in" })),
    );
    expect(results.every((r) => r.result === "ok")).toBe(true);
    return made;
  }

  it("moves money once per id when two processes submit overlapping ids at once", async () => {
    const accounts = await wallets(5, 2_000n);
    const before = await storedBalances(env.db, accounts.map((a) => a.id));
    const rand = (n: number) => Number(BigInt(`0x${derivedUuid(`mp:${n}`).slice(0, 8)}`) % 1_000_000n) / 1_000_000;
    const shared: TransferInput[] = Array.from({ length: 400 }, (_, n) => {
      const from = Math.floor(rand(n) * 5);
      const to = (from + 1 + Math.floor(rand(n + 1e6) * 4)) % 5;
      return { id: uuidv7(), debitAccountId: accounts[from]!.id, creditAccountId: accounts[to]!.id, amountMinor: BigInt(50 + Math.floor(rand(n + 2e6) * 350)), code: "p2p" };
    });
    // Same id, disjoint accounts: the two processes never lock a common row for these.
    const clashing = Array.from({ length: 20 }, () => uuidv7());
    const planA = [...shared.slice(0, 300), ...clashing.map((cid) => ({ id: cid, debitAccountId: accounts[0]!.id, creditAccountId: accounts[1]!.id, amountMinor: 10n, code: "p2p" }))];
    const planB = [...shared.slice(100), ...clashing.map((cid) => ({ id: cid, debitAccountId: accounts[2]!.id, creditAccountId: accounts[3]!.id, amountMinor: 10n, code: "p2p" }))];
    const plans = [planA, [...planB].reverse()];
    const pair = plans.map((plan, i) => {
      const file = path.join(tmp, `plan-${i}.json`);
      writeFileSync(file, JSON.stringify(plan.map(toWire)));
      const w = startWorker(env, { WORKER_MODE: "list", WORKER_PLAN: file });
      workers.push(w);
      return w;
    });
    await Promise.all(pair.map((w) => w.waitFor("ready")));
    for (const w of pair) w.child.stdin.end("go\n");
    const done = await Promise.all(pair.map((w) => w.waitFor("done", 25_000)));
    expect((await Promise.all(pair.map((w) => w.exited))).map((e) => e.code)).toEqual([0, 0]);
    const results = done.map((line) => JSON.parse(line.slice("done ".length)) as TransferResult[]);

    // Per id, over both processes: one ok and the rest exists, or the same recorded refusal twice.
    const byId = new Map<string, { input: TransferInput; code: string }[]>();
    plans.forEach((plan, i) =>
      plan.forEach((input, k) => {
        expect(results[i]![k]!.id).toBe(input.id);
        byId.set(input.id, [...(byId.get(input.id) ?? []), { input, code: results[i]![k]!.result }]);
      }),
    );
    const expected = new Map([...before].map(([k, b]) => [k, { ...b }]));
    let oks = 0;
    for (const [tid, answers] of byId) {
      const codes = answers.map((a) => a.code).sort();
      const winners = answers.filter((a) => a.code === "ok");
      expect(winners.length, `id ${tid}: ${codes}`).toBeLessThanOrEqual(1);
      if (clashing.includes(tid)) {
        for (const c of codes) expect(["ok", "exceeds_credits", "exists_with_different_debit_account_id"], `id ${tid}`).toContain(c);
      } else if (answers.length === 2) {
        const sameRefusal = codes[0] === codes[1] && RECORDED_FAILURES.has(codes[0] as never);
        expect(sameRefusal || (codes[0] === "exists" && codes[1] === "ok"), `id ${tid}: ${codes}`).toBe(true);
      } else {
        expect(["ok", "exceeds_credits"]).toContain(codes[0]);
      }
      for (const { input } of winners) {
        oks += 1;
        expected.get(input.debitAccountId!)!.debitsPosted += input.amountMinor!;
        expected.get(input.creditAccountId!)!.creditsPosted += input.amountMinor!;
      }
    }
    expect(oks).toBeGreaterThan(50);
    const after = await storedBalances(env.db, accounts.map((a) => a.id));
    for (const a of accounts) expect(after.get(a.id), a.id).toEqual(expected.get(a.id));
    const rows = await env.db.query<{ n: number }>("SELECT count(*)::int AS n FROM transfers WHERE id = ANY($1::uuid[])", [[...byId.keys()]]);
    expect(rows.rows[0]!.n).toBe(oks);
    await expectLedgerConsistent(env.db);
  }, 40_000);

  it("a process killed mid-batch leaves the ledger consistent, and a restart resumes it", async () => {
    const accounts = await wallets(8, 50_000n);
    const ids = accounts.map((a) => a.id);
    const seed = uuidv7();
    const worker = startWorker(env, {
      WORKER_MODE: "continuous",
      WORKER_SEED: seed,
      WORKER_WALLETS: ids.join(","),
      WORKER_FEE_ACCOUNT: fees.id,
      WORKER_CONCURRENCY: "64",
    });
    workers.push(worker);
    await worker.waitFor("ready");
    worker.child.stdin.end("go\n");
    await worker.waitFor("r ");
    await new Promise((r) => setTimeout(r, 1_000));
    worker.child.kill("SIGKILL");
    const exit = await worker.exited;
    expect(exit.signal).toBe("SIGKILL");

    // What the worker was told before it died.
    const acknowledged = new Map<number, string[]>();
    for (const line of worker.lines) {
      const m = /^r (\d+) (.+)$/.exec(line);
      if (m) acknowledged.set(Number(m[1]), m[2]!.split(","));
    }
    expect(acknowledged.size).toBeGreaterThan(20);
    await expectLedgerConsistent(env.db);

    // Every transfer the worker was told is ok is durable; every stored one is in the balances (verified above).
    const maxN = Math.max(...acknowledged.keys()) + 64 * 4;
    const groups = Array.from({ length: maxN + 1 }, (_, n) => plannedGroup(seed, n, ids, fees.id));
    const okIds = [...acknowledged].flatMap(([n, codes]) => groups[n]!.filter((_, k) => codes[k] === "ok").map((t) => t.id));
    const durable = await env.db.query<{ n: number }>("SELECT count(*)::int AS n FROM transfers WHERE id = ANY($1::uuid[])", [okIds]);
    expect(durable.rows[0]!.n).toBe(okIds.length);

    // A restarted process retries everything the dead one may have sent: nothing moves twice.
    const restarted = env.newLedger();
    const before = await storedBalances(env.db, [...ids, fees.id]);
    const retried = await Promise.all(groups.map((g) => restarted.submitLinked(g)));
    const expected = new Map([...before].map(([k, b]) => [k, { ...b }]));
    retried.forEach((rs, n) => {
      const told = acknowledged.get(n);
      rs.forEach((r, k) => {
        if (told) expect(r.result, `group ${n}`).toBe(told[k] === "ok" ? "exists" : told[k]);
        if (r.result !== "ok") return;
        const t = groups[n]![k]!;
        expected.get(t.debitAccountId!)!.debitsPosted += t.amountMinor!;
        expected.get(t.creditAccountId!)!.creditsPosted += t.amountMinor!;
      });
    });
    const after = await storedBalances(env.db, [...ids, fees.id]);
    for (const [k, v] of expected) expect(after.get(k), k).toEqual(v);
    await expectLedgerConsistent(env.db);

    // The command-line check agrees, and notices when a balance no longer matches its transfers.
    const good = await cliVerify(env);
    expect(good.code, good.out).toBe(0);
    await env.db.query("UPDATE accounts SET credits_posted = credits_posted + 1 WHERE id = $1", [fees.id]);
    const bad = await cliVerify(env);
    expect(bad.code, bad.out).not.toBe(0);
    expect(bad.out).toContain(fees.id);
    expect((await verifyLedger(env.db)).ok).toBe(false);
  }, 40_000);
});

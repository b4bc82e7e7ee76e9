import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { PinService } from "../../src/core/auth/pin-service.js";
import { SimSwapGuard } from "../../src/core/auth/sim-swap.js";
import type { AuthContext } from "../../src/core/auth/types.js";
import { Argon2PinHasher } from "../../src/infra/auth/argon2-hasher.js";
import { SqlAuditLog, verifyAuditChain } from "../../src/infra/db/audit-store.js";
import { SqlPinStore } from "../../src/infra/db/pin-store.js";
import { SqlSimSwapStore } from "../../src/infra/db/sim-swap-store.js";
import type { SqlDb, SqlExecutor } from "../../src/infra/db/sql.js";
import { openTestDb, type TestDb } from "../helpers/db.js";
import { containsPin } from "../helpers/pin-leak.js";

// Distinctive PINs: none is weak, none occurs in the fixed timestamps, ids or phone number below.
const PINS = { first: "4827", second: "590316", wrong1: "3915", wrong2: "6150", reset: "8264" };
const SUBJECT = "0193a5b0-0000-7000-8000-0000000000aa";
const MSISDN = "+254712349183";
const customer: AuthContext = { actor: { type: "customer", id: SUBJECT }, channel: "ussd" };
const admin: AuthContext = { actor: { type: "bank_user", id: "admin-x" }, channel: "admin" };

/** Everything sent to the database, SQL text and parameters alike. */
function capturing(db: SqlDb, sent: string[]): SqlDb {
  const record = (text: string, params?: unknown[]) => sent.push(text, JSON.stringify(params ?? []));
  const wrap = (x: SqlExecutor): SqlExecutor => ({
    query: (text, params) => {
      record(text, params);
      return x.query(text, params);
    },
    exec: (script) => {
      record(script);
      return x.exec(script);
    },
  });
  return Object.assign(Object.create(db) as SqlDb, wrap(db), {
    transaction: <T>(fn: (tx: SqlExecutor) => Promise<T>) => db.transaction((tx) => fn(wrap(tx))),
  });
}

/**
 * Removes what is random by construction and may contain any digit run by chance: Argon2 PHC
 * strings (salt and hash in base64), SHA-256 hex digests and UUIDs. None of them can carry a PIN
 * in clear; everything else must not contain one.
 */
function scrub(text: string): string {
  return text
    .replace(/\$argon2id\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+/g, "<argon2>")
    .replace(/\b[0-9a-f]{64}\b/g, "<sha256>")
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, "<uuid>");
}

function leaks(text: string): string[] {
  const clean = scrub(text);
  return Object.values(PINS).filter((pin) => containsPin(clean, pin));
}

describe("a PIN never leaks", () => {
  let t: TestDb;
  const sent: string[] = [];
  const printed: string[] = [];
  const thrown: string[] = [];
  const results: string[] = [];

  beforeAll(async () => {
    t = await openTestDb("postgres");
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await t.cleanup();
  });

  it("through the set, wrong, right, change, lock, reset and unlock flows", async () => {
    const capture = (chunk: unknown) => {
      printed.push(String(chunk));
      return true;
    };
    vi.spyOn(process.stdout, "write").mockImplementation(capture);
    vi.spyOn(process.stderr, "write").mockImplementation(capture);
    for (const level of ["log", "info", "warn", "error", "debug", "trace"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void printed.push(args.map(String).join(" ")));
    }

    const db = capturing(t.db, sent);
    const clock = () => new Date("2026-11-25T09:00:00.000Z");
    const simSwap = new SimSwapGuard({ store: new SqlSimSwapStore(db), clock });
    const pins = new PinService({
      store: new SqlPinStore(db),
      hasher: new Argon2PinHasher({ memoryCostKiB: 1_024, timeCost: 1 }),
      audit: new SqlAuditLog(db, clock),
      simSwap,
      clock,
      policy: { maxLength: 6 },
    });
    const run = async (flow: () => Promise<unknown>) => {
      try {
        results.push(JSON.stringify(await flow()));
      } catch (error) {
        thrown.push(String(error), (error as Error).stack ?? "", JSON.stringify(error, Object.getOwnPropertyNames(error as object)));
      }
    };
    const ctx = { ...customer, subjectId: SUBJECT };

    await run(() => pins.setPin({ ...ctx, msisdn: MSISDN, pin: PINS.first }));
    await run(() => pins.setPin({ ...ctx, msisdn: MSISDN, pin: PINS.first }));
    await run(() => pins.verifyPin({ ...ctx, pin: PINS.wrong1 }));
    await run(() => pins.verifyPin({ ...ctx, pin: PINS.first }));
    await run(() => pins.changePin({ ...ctx, oldPin: PINS.wrong2, newPin: PINS.second }));
    await run(() => pins.changePin({ ...ctx, oldPin: PINS.first, newPin: PINS.second }));
    await run(() => pins.verifyPin({ ...ctx, pin: PINS.second }));
    for (const pin of [PINS.wrong1, PINS.wrong2, PINS.first]) await run(() => pins.verifyPin({ ...ctx, pin }));
    await run(() => pins.verifyPin({ ...ctx, pin: PINS.second })); // locked now
    await run(() => simSwap.report({ actor: { type: "telco", id: "telco-x" }, channel: "api", msisdn: MSISDN, kind: "sim_swap" }));
    await run(() => pins.resetPin({ ...admin, subjectId: SUBJECT, newPin: PINS.reset })); // cooling
    await run(() => pins.unlockPin({ ...admin, subjectId: SUBJECT }));
    await run(() => pins.verifyPin({ ...ctx, pin: PINS.second }));
    await run(() => pins.verifyPin({ ...ctx, subjectId: "0193a5b0-0000-7000-8000-0000000000bb", pin: PINS.first })); // unknown
    await run(() => pins.verifyPin({ ...ctx, pin: `${PINS.first}x` })); // malformed
    // An error path: a corrupted stored hash makes verification throw; its message must be clean.
    await t.db.query("UPDATE pin_credentials SET pin_hash = '$argon2id$corrupt' WHERE subject_id = $1", [SUBJECT]);
    await run(() => pins.verifyPin({ ...ctx, pin: PINS.second }));
    vi.restoreAllMocks();

    expect(thrown[0]).toBe("Error: stored PIN hash could not be parsed"); // the corrupted hash did throw
    expect(results).toHaveLength(17);
    const auditRows = await t.db.query<{ j: string }>("SELECT row_to_json(a)::text AS j FROM audit_log a ORDER BY seq");
    const pinRows = await t.db.query<{ j: string }>("SELECT row_to_json(p)::text AS j FROM pin_credentials p");
    const swapRows = await t.db.query<{ j: string }>("SELECT row_to_json(s)::text AS j FROM sim_swap_events s");
    expect(auditRows.rows.length).toBeGreaterThan(10);

    const haystacks = {
      printed: printed.join("\n"),
      thrown: thrown.join("\n"),
      results: results.join("\n"),
      sentToDatabase: sent.join("\n"),
      auditTable: auditRows.rows.map((r) => r.j).join("\n"),
      pinTable: pinRows.rows.map((r) => r.j).join("\n"),
      simSwapTable: swapRows.rows.map((r) => r.j).join("\n"),
    };
    const found = Object.fromEntries(Object.entries(haystacks).map(([where, text]) => [where, leaks(text)]));
    expect(found).toEqual({ printed: [], thrown: [], results: [], sentToDatabase: [], auditTable: [], pinTable: [], simSwapTable: [] });
  });

  it("the scan itself would have found a PIN (control)", () => {
    expect(leaks(`{"payload":{"x":"${PINS.second}"}}`)).toEqual([PINS.second]);
    expect(leaks(`a hash $argon2id$v=19$m=1024,t=1,p=1$AAAA4827$BBBB and ${"4827".padEnd(64, "0")}`)).toEqual([]);
  });

  it("and the audit chain the flows left is intact", async () => {
    // The corrupted-hash step changed pin_credentials, not the audit log.
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });
});

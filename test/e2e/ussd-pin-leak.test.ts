/**
 * A PIN typed into USSD never lands anywhere but its Argon2 hash: not in a log line, not in any
 * value ever written to the session store, not in the audit log, not in any reply. Registration,
 * balance, send money, change PIN, an agent's cash-in, cash-out and reports, the customer's
 * approval and withdrawal run over the real channel and core, and everything they leave behind is
 * scanned for the PIN digits (customers' and the agent's) as a token.
 */
import { randomUUID } from "node:crypto";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemorySessionStore, type LockedValue, type SessionStore, type SessionWrite } from "../../src/menus/engine/session-store.js";
import { openUssdEnv, type UssdEnv } from "../helpers/ussd-env.js";

const SECRET = "leak-at-secret-0123456789abcdef0123";
const PINS = ["7391", "8462", "6185"];
const AGENT_PIN = "5274";
const token = (pin: string) => new RegExp(`(^|[^0-9])${pin}([^0-9]|$)`);
/**
 * Ids and digests are hex: "…a0000b…" in a SHA-256 or a UUID is not a PIN, and with dozens of them
 * in the audit log one turns up now and then. They are taken out before the scan.
 */
const withoutHex = (text: string) => text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, "<id>").replace(/[0-9a-f]{32,}/gi, "<hex>");

/** Every value any hop ever wrote, not only what is left at the end. */
class RecordingStore implements SessionStore {
  readonly written: string[] = [];
  constructor(private readonly inner = new MemorySessionStore()) {}
  lockAndGet(key: string, ttlMs: number, take?: string) {
    return this.inner.lockAndGet(key, ttlMs, take);
  }
  async commit(key: string, t: LockedValue, writes: SessionWrite[]) {
    for (const w of writes) if (w.value !== null) this.written.push(`${w.key}=${w.value}`);
    return this.inner.commit(key, t, writes);
  }
  get(key: string) {
    return this.inner.get(key);
  }
  scan(prefix: string, max: number, expiringBeforeMs?: number) {
    return this.inner.scan(prefix, max, expiringBeforeMs);
  }
  async set(key: string, value: string, ttlSec: number) {
    this.written.push(`${key}=${value}`);
    return this.inner.set(key, value, ttlSec);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  tryLock(key: string, ttlMs: number) {
    return this.inner.tryLock(key, ttlMs);
  }
  unlock(key: string, t: string) {
    return this.inner.unlock(key, t);
  }
  close() {
    return this.inner.close();
  }
}

let env: UssdEnv;
const logs: string[] = [];
const store = new RecordingStore();
const replies: string[] = [];
const logger = {
  info: (o: object, m: string) => void logs.push(JSON.stringify(o) + m),
  warn: (o: object, m: string) => void logs.push(JSON.stringify(o) + m),
  error: (o: object, m: string) => void logs.push(JSON.stringify(o) + m),
};

async function walk(sessionId: string, phone: string, inputs: string[]) {
  const texts = ["", ...inputs.map((_, i) => inputs.slice(0, i + 1).join("*"))];
  for (const text of texts) {
    const r = await request(env.app).post("/ussd/at").set("x-fingate-secret", SECRET).type("form").send({ sessionId, serviceCode: "*384#", phoneNumber: phone, networkCode: "63902", text });
    expect(r.status).toBe(200);
    replies.push(r.text);
  }
}

beforeAll(async () => {
  env = await openUssdEnv({ code: "leak-bank", secret: SECRET, sessions: store, logger });
});

afterAll(() => env?.close());

describe("PINs typed over USSD", () => {
  it("leave no trace but their hash", async () => {
    const [first, second, changed] = PINS as [string, string, string];
    await walk("leak-1", "+254713000001", ["Asha Mwangi", "1", first, first]);
    await walk("leak-2", "+254713000002", ["Baraka Ouma", "1", second, second]);
    const { services, ledger, test, bankId } = env;
    const payer = await services.directory.findCustomerByMsisdn("+254713000001");
    if (!payer.ok) throw new Error(payer.code);
    const treasury = await ledger.createAccount({ institutionId: bankId, currency: "KES", kind: "settlement" });
    await ledger.transfer({ id: randomUUID(), debitAccountId: treasury.id, creditAccountId: payer.value.walletAccountId, amountMinor: 5_000_00n, code: "cash_in" });
    await walk("leak-3", "+254713000001", ["1", first]);
    await walk("leak-4", "+254713000001", ["2", "0713000002", "100", "1", first]);
    await walk("leak-5", "+254713000001", ["2", "0713000002", "100", "1", "0000"]); // a wrong PIN is a PIN too
    await walk("leak-6", "+254713000001", ["2", "5", changed, changed, first]); // "2": start again, not resume leak-5
    await walk("leak-7", "+254713000001", ["1", changed]);
    if (!/^END Your balance is KES/.test(replies.at(-1)!)) console.log(replies.join("\n---\n"));
    expect(replies.at(-1)).toMatch(/^END Your balance is KES/);
    expect(replies.some((r) => /^END Sent KES 100\.00/.test(r))).toBe(true);

    // An agent: its PIN (set at onboarding) typed for a cash-in, a cash-out and a report; the
    // customer's PIN typed to approve that cash-out and to withdraw at the agent.
    const actor = { type: "system" as const, id: "leak" };
    const onboarded = await services.agents.onboard({ institutionId: bankId, msisdn: "+254713000009", storeNumber: "700900", name: "Leak Shop", location: "Nairobi", pin: AGENT_PIN, actor });
    if (!onboarded.ok) throw new Error(onboarded.code);
    expect((await services.agents.topUpFloat({ id: randomUUID(), agentId: onboarded.agent.id, amountMinor: 1_000_00n, actor })).ok).toBe(true);
    await walk("leak-8", "+254713000009", ["1", "0713000001", "50", AGENT_PIN]);
    await walk("leak-9", "+254713000009", ["2", "0713000001", "60", "1111"]); // a wrong agent PIN is a PIN too
    await walk("leak-10", "+254713000009", ["1", AGENT_PIN]); // "1": continue leak-9 at its PIN step
    await walk("leak-11", "+254713000001", ["1", changed]);
    await walk("leak-12", "+254713000001", ["4", "0713000009", "700900", "70", changed]);
    await walk("leak-13", "+254713000009", ["3", AGENT_PIN]);
    expect(replies.some((r) => /^END Deposited KES 50\.00/.test(r))).toBe(true);
    expect(replies.some((r) => /^END Approved\. Collect KES 60\.00/.test(r))).toBe(true);
    expect(replies.some((r) => /^END Withdrew KES 70\.00/.test(r))).toBe(true);
    expect(replies.at(-1)).toBe("END Your float balance is KES 1,080.00.");

    const audit = await test.db.query<{ row: string }>("SELECT row_to_json(a)::text AS row FROM audit_log a");
    const pinRows = await test.db.query<{ row: string }>("SELECT row_to_json(p)::text AS row FROM pin_credentials p");
    const places: [string, string[]][] = [
      ["logs", logs],
      ["session store writes", store.written],
      ["replies", replies],
      ["audit log", audit.rows.map((r) => r.row)],
      ["pin table", pinRows.rows.map((r) => r.row)],
    ];
    expect(store.written.length).toBeGreaterThan(20);
    expect(audit.rows.length).toBeGreaterThan(5);
    for (const [place, texts] of places) {
      for (const pin of [...PINS, AGENT_PIN, "0000", "1111"]) {
        const hit = texts.find((t) => token(pin).test(withoutHex(t)));
        expect(hit, `PIN ${pin} found in ${place}`).toBeUndefined();
      }
    }
  });
});

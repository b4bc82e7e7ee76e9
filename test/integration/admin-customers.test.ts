import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Customer } from "../../src/core/directory/types.js";
import { bearer, openAdmin, PLATFORM_KEY, registerCustomer, type AdminFixture } from "./admin-fixture.js";
import { containsPin } from "../helpers/pin-leak.js";

let f: AdminFixture;
let jane: Customer;
let other: Customer;
const url = (c: Customer, bank = f.a.id) => `/admin/v1/institutions/${bank}/customers/${c.id}`;

beforeAll(async () => {
  f = await openAdmin("postgres");
  jane = await registerCustomer(f, f.a.id, "+254712345678");
  other = await registerCustomer(f, f.b.id, "+255712345678");
  const set = await f.pins.setPin({ actor: { type: "customer", id: jane.id }, channel: "ussd", subjectId: jane.id, msisdn: jane.msisdn, pin: "4829" });
  expect(set).toEqual({ ok: true });
});
afterAll(async () => {
  await f?.close();
});

describe("customers through the directory", () => {
  it("a bank reads its own customer; another bank's customer does not exist for it", async () => {
    expect((await request(f.app).get(url(jane)).set(...bearer(f.a.auditor))).body).toMatchObject({ id: jane.id, kycTier: 0, status: "active" });
    const foreign = await request(f.app).get(url(other)).set(...bearer(f.a.admin));
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe("customer_not_found");
    expect((await request(f.app).put(`${url(other)}/kyc-tier`).set(...bearer(f.a.admin)).send({ tier: 2 })).status).toBe(404);
  });

  it("the admin raises the KYC tier; the directory audits it with from and to", async () => {
    const res = await request(f.app).put(`${url(jane)}/kyc-tier`).set(...bearer(f.a.admin)).send({ tier: 2 });
    expect(res.status).toBe(200);
    expect(res.body.kycTier).toBe(2);
    const audit = await request(f.app).get(`/admin/v1/institutions/${f.a.id}/audit?action=directory.customer.set_kyc_tier`).set(...bearer(f.a.auditor));
    expect(audit.body.items[0]).toMatchObject({ subject: jane.id, actorType: "bank_user", payload: { kycTier: { from: 0, to: 2 } } });
  });

  it("an operator blocks and unblocks; an out-of-range tier is a 400", async () => {
    expect((await request(f.app).put(`${url(jane)}/status`).set(...bearer(f.a.operator)).send({ status: "blocked" })).body.status).toBe("blocked");
    expect((await request(f.app).put(`${url(jane)}/status`).set(...bearer(f.a.operator)).send({ status: "active" })).body.status).toBe("active");
    const bad = await request(f.app).put(`${url(jane)}/kyc-tier`).set(...bearer(f.a.admin)).send({ tier: 4 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toContainEqual({ path: "body.tier", message: expect.stringMatching(/<=3/) });
  });
});

describe("PIN unlock and reset through the PIN service", () => {
  it("unlocks a PIN locked by wrong attempts", async () => {
    for (let i = 0; i < 3; i++) await f.pins.verifyPin({ actor: { type: "customer", id: jane.id }, channel: "ussd", subjectId: jane.id, pin: "1111" });
    const locked = await f.pins.verifyPin({ actor: { type: "customer", id: jane.id }, channel: "ussd", subjectId: jane.id, pin: "4829" });
    expect(locked).toMatchObject({ ok: false, code: "pin_locked" });
    const res = await request(f.app).post(`${url(jane)}/pin/unlock`).set(...bearer(f.a.operator));
    expect(res.body).toEqual({ wasLocked: true });
    expect(await f.pins.verifyPin({ actor: { type: "customer", id: jane.id }, channel: "ussd", subjectId: jane.id, pin: "4829" })).toEqual({ ok: true });
  });

  it("resets a PIN, refusing a weak one with the reason and never echoing the PIN", async () => {
    const weak = await request(f.app).post(`${url(jane)}/pin/reset`).set(...bearer(f.a.admin)).send({ newPin: "1234" });
    expect(weak.status).toBe(422);
    expect(weak.body.error).toMatchObject({ code: "pin_weak", details: [{ path: "body.newPin", message: "sequence" }] });
    expect(containsPin(JSON.stringify(weak.body), "1234")).toBe(false);
    const res = await request(f.app).post(`${url(jane)}/pin/reset`).set(...bearer(f.a.admin)).send({ newPin: "5831" });
    expect(res.status).toBe(204);
    expect(await f.pins.verifyPin({ actor: { type: "customer", id: jane.id }, channel: "ussd", subjectId: jane.id, pin: "5831" })).toEqual({ ok: true });
  });

  it("a customer without a PIN: unlock is 404 pin_not_set; a reset sets the first PIN, checked and audited", async () => {
    const nopin = await registerCustomer(f, f.a.id, "+254712000111");
    const res = await request(f.app).post(`${url(nopin)}/pin/unlock`).set(...bearer(f.a.admin));
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("pin_not_set");
    const weak = await request(f.app).post(`${url(nopin)}/pin/reset`).set(...bearer(f.a.admin)).send({ newPin: "0111" });
    expect(weak.body.error).toMatchObject({ code: "pin_weak" });
    const first = await request(f.app).post(`${url(nopin)}/pin/reset`).set(...bearer(f.a.admin)).send({ newPin: "6042" });
    expect(first.status).toBe(204);
    // The customer is told by SMS, as of any reset, in the same transaction.
    const sent = await f.test.db.query<{ template: string }>("SELECT template FROM outbox_messages WHERE msisdn = $1", [nopin.msisdn]);
    expect(sent.rows.map((r) => r.template)).toEqual(["notice.pin_reset"]);
    const subject = { actor: { type: "customer" as const, id: nopin.id }, channel: "ussd" as const, subjectId: nopin.id };
    expect(await f.pins.verifyPin({ ...subject, pin: "6042" })).toEqual({ ok: true });
    // The customer cannot set another over it: only a further reset replaces it.
    expect(await f.pins.setPin({ ...subject, msisdn: nopin.msisdn, pin: "7315" })).toMatchObject({ ok: false, code: "pin_already_set" });
    const audit = await request(f.app).get(`/admin/v1/institutions/${f.a.id}/audit?action=pin.reset`).set(...bearer(f.a.auditor));
    expect(audit.body.items).toContainEqual(expect.objectContaining({ subject: nopin.id, actorType: "bank_user", outcome: "ok", payload: { first: true } }));
    expect(containsPin(JSON.stringify(audit.body), "6042")).toBe(false);
  });
});

describe("SIM-swap reports", () => {
  it("a bank reports a swap of its customer's number; PIN resets then wait for the cooling period", async () => {
    const reported = await request(f.app).post(`/admin/v1/institutions/${f.a.id}/sim-swaps`).set(...bearer(f.a.operator)).send({ msisdn: jane.msisdn, kind: "sim_swap" });
    expect(reported.status).toBe(201);
    expect(reported.body.coolingEndsAt).toEqual(expect.any(String));
    const list = await request(f.app).get(`/admin/v1/institutions/${f.a.id}/sim-swaps`).set(...bearer(f.a.auditor));
    expect(list.body.items).toEqual([expect.objectContaining({ customerId: jane.id, msisdn: jane.msisdn, kind: "sim_swap" })]);
    const reset = await request(f.app).post(`${url(jane)}/pin/reset`).set(...bearer(f.a.admin)).send({ newPin: "7302" });
    expect(reset.status).toBe(409);
    expect(reset.body.error.code).toBe("sim_swap_cooling");
  });

  it("another bank neither sees the report nor may report its customer's number", async () => {
    expect((await request(f.app).get(`/admin/v1/institutions/${f.b.id}/sim-swaps`).set(...bearer(f.b.admin))).body.items).toEqual([]);
    const res = await request(f.app).post(`/admin/v1/institutions/${f.b.id}/sim-swaps`).set(...bearer(f.b.operator)).send({ msisdn: jane.msisdn, kind: "sim_swap" });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("customer_not_found");
  });

  it("pages the reports newest first with nextBefore, each once, past any number of them; a cursor of another bank's report is a 400", async () => {
    const pat = await registerCustomer(f, f.a.id, "+254712344071");
    // Five reports, two of them at one instant, so the page boundary falls between equal times.
    const times = ["2026-01-01T10:00:00Z", "2026-01-02T10:00:00Z", "2026-01-02T10:00:00Z", "2026-01-03T10:00:00Z", "2026-01-04T10:00:00Z"];
    for (const occurredAt of times) {
      const made = await request(f.app).post(`/admin/v1/institutions/${f.a.id}/sim-swaps`).set(...bearer(f.a.operator)).send({ msisdn: pat.msisdn, kind: "sim_swap", occurredAt });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
    }
    const seen: string[] = [];
    let before: string | null = null;
    const list = (cursor: string | null) =>
      request(f.app).get(`/admin/v1/institutions/${f.a.id}/sim-swaps?since=2026-01-01T00:00:00Z&limit=2${cursor ? `&before=${cursor}` : ""}`).set(...bearer(f.a.auditor));
    for (let pages = 0; pages === 0 || before !== null; pages++) {
      expect(pages, "pages").toBeLessThan(10);
      const page = await list(before);
      expect(page.status, JSON.stringify(page.body)).toBe(200);
      seen.push(...(page.body.items as { id: string; msisdn: string; occurredAt: string }[]).filter((i) => i.msisdn === pat.msisdn).map((i) => i.occurredAt));
      before = page.body.nextBefore as string | null;
    }
    expect(seen).toEqual([...times].reverse().map((t) => new Date(t).toISOString()));
    const foreign = await request(f.app).post(`/admin/v1/institutions/${f.b.id}/sim-swaps`).set(...bearer(f.b.operator)).send({ msisdn: other.msisdn, kind: "sim_swap" });
    expect(foreign.status).toBe(201);
    const theirs = (await request(f.app).get(`/admin/v1/institutions/${f.b.id}/sim-swaps`).set(...bearer(f.b.auditor))).body.items[0].id as string;
    const res = await request(f.app).get(`/admin/v1/institutions/${f.a.id}/sim-swaps?before=${theirs}`).set(...bearer(f.a.auditor));
    expect([res.status, res.body.error.details]).toEqual([400, [{ path: "query.before", message: "names no report of this institution: use the nextBefore of a page" }]]);
  });

  it("PIN and SIM-swap actions appear in the bank's audit query", async () => {
    const res = await request(f.app).get(`/admin/v1/institutions/${f.a.id}/audit?limit=200`).set(...bearer(f.a.auditor));
    const actions = new Set(res.body.items.map((e: { action: string }) => e.action));
    for (const action of ["pin.unlock", "pin.reset", "sim_swap.report", "directory.customer.set_status"]) expect(actions).toContain(action);
    expect(containsPin(JSON.stringify(res.body), "5831")).toBe(false);
    // PIN attempts come from their own chain (2), in the same listing, newest first by time.
    const items = res.body.items as { chain: number; action: string; occurredAt: string }[];
    expect(items.filter((e) => e.action === "pin.verify").map((e) => e.chain)).toEqual(Array(items.filter((e) => e.action === "pin.verify").length).fill(2));
    expect(items.filter((e) => e.action === "pin.verify").length).toBeGreaterThanOrEqual(5);
    expect(items.filter((e) => e.action === "pin.unlock").every((e) => e.chain === 1)).toBe(true);
    const times = items.map((e) => Date.parse(e.occurredAt));
    expect(times).toEqual([...times].sort((x, y) => y - x));
  });

  it("pages the bank's audit listing across both chains with chain:seq cursors, each entry once; a plain seq still means chain 1", async () => {
    const all = await request(f.app).get(`/admin/v1/institutions/${f.a.id}/audit?limit=200`).set(...bearer(f.a.auditor));
    const key = (e: { chain: number; seq: string }) => `${e.chain}:${e.seq}`;
    const seen: string[] = [];
    let before: string | null = null;
    do {
      const page = await request(f.app).get(`/admin/v1/institutions/${f.a.id}/audit?limit=3${before ? `&before=${before}` : ""}`).set(...bearer(f.a.auditor));
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map(key));
      before = page.body.nextBefore as string | null;
    } while (before !== null);
    expect(seen).toEqual(all.body.items.map(key));
    const chainOne = (all.body.items as { chain: number; seq: string }[]).find((e) => e.chain === 1)!;
    const plain = await request(f.app).get(`/admin/v1/institutions/${f.a.id}/audit?limit=200&before=${chainOne.seq}`).set(...bearer(f.a.auditor));
    const prefixed = await request(f.app).get(`/admin/v1/institutions/${f.a.id}/audit?limit=200&before=1:${chainOne.seq}`).set(...bearer(f.a.auditor));
    expect(plain.body.items.map(key)).toEqual(prefixed.body.items.map(key));
    expect((await request(f.app).get(`/admin/v1/institutions/${f.a.id}/audit?before=3:1`).set(...bearer(f.a.auditor))).status).toBe(400);
  });

  it("a cursor naming no entry the bank sees is a 400, never an empty page: not a missing entry, not another bank's, not past bigint", async () => {
    const theirs = await request(f.app).get(`/admin/v1/institutions/${f.b.id}/audit?limit=200`).set(...bearer(f.b.auditor));
    const mine = await request(f.app).get(`/admin/v1/institutions/${f.a.id}/audit?limit=200`).set(...bearer(f.a.auditor));
    const key = (e: { chain: number; seq: string }) => `${e.chain}:${e.seq}`;
    const foreign = (theirs.body.items as { chain: number; seq: string }[]).map(key).find((k) => !(mine.body.items as { chain: number; seq: string }[]).map(key).includes(k))!;
    expect(foreign).toBeDefined();
    for (const before of [foreign, "2:999999999", "1:9999999999999999999"]) {
      const res = await request(f.app).get(`/admin/v1/institutions/${f.a.id}/audit?before=${before}`).set(...bearer(f.a.auditor));
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toMatch(/before/);
    }
    // The platform sees every entry, so the same cursor pages for it.
    const platform = await request(f.app).get(`/admin/v1/audit?before=${foreign}`).set(...bearer(PLATFORM_KEY));
    expect(platform.status).toBe(200);
    expect((platform.body.items as { chain: number; seq: string }[]).map(key)).not.toContain(foreign);
  });
});

/** The admin endpoints for outbound SMS state, over the real admin router on PostgreSQL. */
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertOutboxNotices } from "../../src/infra/db/outbox-store.js";
import { bearer, openAdmin, PLATFORM_KEY, type AdminFixture } from "./admin-fixture.js";

let f: AdminFixture;
let ids: string[];

beforeAll(async () => {
  f = await openAdmin();
  const notice = (msisdn: string) => ({ msisdn, template: "receipt.p2p_received", params: { amountMinor: "100", currency: "KES", name: "X", ref: "R1" }, kind: "receipt" as const });
  ids = await f.test.db.transaction((tx) => insertOutboxNotices(tx, [notice("+254700000001"), notice("+254700000002"), notice("+254700000001")]));
  await f.test.db.query(
    `UPDATE outbox_messages SET state = 'submitted', link_id = 'ke-1', part_count = 1, smsc_message_ids = '{abc}', attempts = 1,
       queued_at = now(), submitted_at = now() WHERE id = $1`,
    [ids[0]],
  );
});

afterAll(() => f.close());

describe("GET /admin/v1/sms/messages", () => {
  it("shows one message's delivery state to the platform operator", async () => {
    const res = await request(f.app).get(`/admin/v1/sms/messages/${ids[0]}`).set(...bearer(PLATFORM_KEY));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: ids[0], state: "submitted", linkId: "ke-1", partCount: 1, smscMessageIds: ["abc"], attempts: 1, template: "receipt.p2p_received", kind: "receipt" });
    expect(res.body.submittedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(res.body).not.toHaveProperty("params");
  });

  it("lists by number and state, newest first, with paging", async () => {
    const byNumber = await request(f.app).get("/admin/v1/sms/messages?msisdn=%2B254700000001&limit=1").set(...bearer(PLATFORM_KEY));
    expect(byNumber.status).toBe(200);
    expect(byNumber.body.items.map((m: { id: string }) => m.id)).toEqual([ids[2]]);
    const next = await request(f.app).get(`/admin/v1/sms/messages?msisdn=%2B254700000001&limit=1&before=${byNumber.body.nextBefore}`).set(...bearer(PLATFORM_KEY));
    expect(next.body.items.map((m: { id: string }) => m.id)).toEqual([ids[0]]);
    const pending = await request(f.app).get("/admin/v1/sms/messages?state=pending").set(...bearer(PLATFORM_KEY));
    expect(pending.body.items.map((m: { id: string }) => m.id)).toEqual([ids[2], ids[1]]);
    const states = await request(f.app).get("/admin/v1/sms/messages/states").set(...bearer(PLATFORM_KEY));
    expect(states.body).toMatchObject({ pending: 2, submitted: 1, delivered: 0 });
  });

  it("refuses bad input, unknown ids and bank keys", async () => {
    const unknown = await request(f.app).get("/admin/v1/sms/messages/01a21494-c6f5-7ac1-8d9d-09522c2e14f4").set(...bearer(PLATFORM_KEY));
    expect(unknown.status).toBe(404);
    const malformed = await request(f.app).get("/admin/v1/sms/messages/not-a-uuid").set(...bearer(PLATFORM_KEY));
    expect(malformed.status).toBe(400);
    const badState = await request(f.app).get("/admin/v1/sms/messages?state=lost").set(...bearer(PLATFORM_KEY));
    expect(badState.status).toBe(400);
    const bank = await request(f.app).get("/admin/v1/sms/messages").set(...bearer(f.a.admin));
    expect(bank.status).toBe(403);
    const anonymous = await request(f.app).get("/admin/v1/sms/messages");
    expect(anonymous.status).toBe(401);
  });

  it("shows the platform operator each message's bank, as its writer stored it (null for a row written before the column)", async () => {
    // +25471292xxxx: this test's numbers.
    const notice = { msisdn: "+254712920001", template: "receipt.p2p_received", params: { amountMinor: "100", currency: "KES", name: "X", ref: "R2" }, kind: "receipt" as const };
    const [ofA] = await f.test.db.transaction((tx) => insertOutboxNotices(tx, [notice], { institutionId: f.a.id }));
    const [ofB] = await f.test.db.transaction((tx) => insertOutboxNotices(tx, [notice], { institutionId: f.b.id }));
    const [old] = await f.test.db.transaction((tx) => insertOutboxNotices(tx, [notice]));
    const one = await request(f.app).get(`/admin/v1/sms/messages/${ofB}`).set(...bearer(PLATFORM_KEY));
    expect(one.status).toBe(200);
    expect(one.body.institutionId).toBe(f.b.id);
    const list = await request(f.app).get("/admin/v1/sms/messages?msisdn=%2B254712920001").set(...bearer(PLATFORM_KEY));
    expect(list.body.items.map((m: { id: string; institutionId: string | null }) => [m.id, m.institutionId])).toEqual([
      [old, null],
      [ofB, f.b.id],
      [ofA, f.a.id],
    ]);
  });

  it("shows a bank's keys no message, not even their own bank's: the view is the platform operator's", async () => {
    const [ofA] = await f.test.db.transaction((tx) =>
      insertOutboxNotices(tx, [{ msisdn: "+254712920002", template: "receipt.p2p_received", params: { amountMinor: "1", currency: "KES", name: "X", ref: "R3" }, kind: "receipt" }], { institutionId: f.a.id }),
    );
    for (const key of [f.a.admin, f.a.operator, f.a.auditor, f.b.admin]) {
      for (const path of [`/admin/v1/sms/messages/${ofA}`, "/admin/v1/sms/messages?msisdn=%2B254712920002", "/admin/v1/sms/messages/states"]) {
        const res = await request(f.app).get(path).set(...bearer(key));
        expect(res.status, path).toBe(403);
        expect(JSON.stringify(res.body)).not.toContain(ofA!);
      }
    }
  });

  it("is documented in the OpenAPI document", async () => {
    const res = await request(f.app).get("/openapi.json");
    expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining(["/admin/v1/sms/messages", "/admin/v1/sms/messages/states", "/admin/v1/sms/messages/{messageId}"]));
    expect(res.body.paths["/admin/v1/sms/messages/{messageId}"].get.operationId).toBe("getSmsMessage");
    const one = res.body.paths["/admin/v1/sms/messages/{messageId}"].get.responses["200"].content["application/json"].schema;
    expect(one.properties.institutionId.description).toMatch(/bank/);
  });
});

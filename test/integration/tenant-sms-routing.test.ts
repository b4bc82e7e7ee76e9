/**
 * Outbound SMS stays within the recipient's bank: a receipt or notice for bank A's customer goes
 * through one of bank A's SMS links (its SMSC account, its short code as sender), never through
 * bank B's, even when B's link has the longer matching prefix. A number only bank B's links reach
 * is unroutable for bank A's messages. Real PostgreSQL, the real link manager and outbox relay.
 */
import { randomUUID } from "node:crypto";
import express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { smsMoRouter } from "../../src/http/sms/mo-router.js";
import { insertOutboxNotices, insertOutboxReply } from "../../src/infra/db/outbox-store.js";
import { SYSTEM } from "../helpers/core-setup.js";
import { openSmsEnv, type Customer, type SmsEnv } from "../helpers/sms-env.js";

let env: SmsEnv;
let bankB: string;
let janeA: Customer;
let farA: Customer;
let bobB: { msisdn: string };

interface RowState {
  state: string;
  link_id: string | null;
  sender: string | null;
  last_error: string | null;
}

/** The row once the relay has decided it (queued on a link, or failed). */
async function routed(id: string): Promise<RowState> {
  for (let i = 0; i < 300; i++) {
    const { rows } = await env.test.db.query<RowState>("SELECT state, link_id, sender, last_error FROM outbox_messages WHERE id = $1", [id]);
    const row = rows[0]!;
    if (row.state !== "pending") return row;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`outbox row ${id} was never routed`);
}

async function notify(msisdn: string): Promise<string> {
  const [id] = await insertOutboxNotices(env.test.db, [{ msisdn, template: "notice.pin_changed", params: {}, kind: "notice" }]);
  return id!;
}

beforeAll(async () => {
  env = await openSmsEnv({ code: "tenant-sms-a" });
  bankB = randomUUID();
  await env.test.db.query("INSERT INTO institutions (id, code, name, currency, timezone) VALUES ($1, 'tenant-sms-b', 'Bank B', 'KES', 'Africa/Nairobi')", [bankB]);
  // Bank A's link reaches +254712830…; bank B's is more specific on two ranges inside and beside it.
  await env.addServerLink("bank-a", { shortCodes: ["22555"], msisdnPrefixes: ["+254712830"] });
  // A second link of bank A's, switched off: a reply to a command that came in on it goes another way.
  await env.addServerLink("bank-a-old", { shortCodes: ["22556"], msisdnPrefixes: ["+254712830"], enabled: false });
  await env.addServerLink("bank-b", { institutionId: bankB, shortCodes: ["22999"], msisdnPrefixes: ["+2547128300", "+2547128399"] });
  // +25471287…: both banks reach it, bank B's link more specifically. Nobody there is a customer.
  await env.addServerLink("bank-a-87", { shortCodes: ["22557"], msisdnPrefixes: ["+25471287"] });
  await env.addServerLink("bank-b-87", { institutionId: bankB, shortCodes: ["22998"], msisdnPrefixes: ["+254712870"] });
  janeA = await env.addCustomer("+254712830001", "Jane Wanjiru", "4827", "en", 1_000_00n);
  farA = await env.addCustomer("+254712839901", "Far Away", "5903", "en", 1n);
  const registered = await env.services.directory.register(SYSTEM, { institutionId: bankB, msisdn: "+254712830050", displayName: "Bob Otieno" });
  if (!registered.ok) throw new Error(registered.code);
  bobB = registered.value;
});

afterAll(async () => {
  await env?.close();
});

describe("outbound SMS and the recipient's bank", () => {
  it("a notice to bank A's customer goes through bank A's link, though bank B's prefix is longer", async () => {
    const row = await routed(await notify(janeA.msisdn));
    expect(row).toMatchObject({ state: "queued", link_id: "bank-a", sender: "22555" });
  });

  it("a receipt riding a bank A transfer goes through bank A's link, also to a number that is no customer's", async () => {
    const unknown = "+254712830099";
    const transfer = await env.ledger.transfer({
      id: randomUUID(), debitAccountId: janeA.walletAccountId, creditAccountId: farA.walletAccountId, amountMinor: 1_00n, code: "p2p",
      notices: [{ msisdn: unknown, template: "notice.pin_changed", params: {}, kind: "receipt" }],
    });
    expect(transfer.result).toBe("ok");
    const { rows } = await env.test.db.query<{ id: string; institution_id: string | null }>("SELECT id, institution_id FROM outbox_messages WHERE msisdn = $1", [unknown]);
    expect(rows).toHaveLength(1);
    // The ledger stores the bank with the row (the transfer's debit account's).
    expect(rows[0]!.institution_id).toBe(env.bankId);
    expect(await routed(rows[0]!.id)).toMatchObject({ state: "queued", link_id: "bank-a", sender: "22555" });
  });

  it("a reply to a stranger who texted bank A's short code, its link since off, goes through bank A's other link, not bank B's", async () => {
    const id = randomUUID();
    const written = await insertOutboxReply(env.test.db, { id, msisdn: "+254712830077", text: "Send HELP for the commands.", replyLinkId: "bank-a-old", sender: "22556", inReplyTo: randomUUID() });
    expect(written).toBe(true);
    expect(await routed(id)).toMatchObject({ state: "queued", link_id: "bank-a", sender: "22556" });
  });

  it("a PIN notice to bank A's agent (no customer's number, no transfer) goes through bank A's link", async () => {
    const made = await env.services.agents.onboard({
      institutionId: env.bankId, msisdn: "+254712830088", storeNumber: "830088", name: "Duka Moja", location: "Nakuru", actor: { type: "bank_user", id: "apikey:test" }, pin: "4718",
    });
    if (!made.ok) throw new Error(made.code);
    const reset = await env.services.pins.resetPin({ actor: { type: "bank_user", id: "apikey:test" }, channel: "admin", subjectId: made.agent.id, newPin: "7391" });
    expect(reset.ok).toBe(true);
    const { rows } = await env.test.db.query<{ id: string }>("SELECT id FROM outbox_messages WHERE msisdn = $1 AND template = 'notice.pin_reset'", [made.agent.msisdn]);
    expect(rows).toHaveLength(1);
    expect(await routed(rows[0]!.id)).toMatchObject({ state: "queued", link_id: "bank-a", sender: "22555" });
  });

  it("a PIN notice to a number that is an agent at both banks goes over the bank of the agent whose PIN it is", async () => {
    const msisdn = "+254712870101";
    const actor = { type: "bank_user" as const, id: "apikey:test" };
    const atA = await env.services.agents.onboard({ institutionId: env.bankId, msisdn, storeNumber: "870101", name: "Duka Mbili", location: "Nakuru", actor, pin: "4718" });
    if (!atA.ok) throw new Error(atA.code);
    const atB = await env.services.agents.onboard({ institutionId: bankB, msisdn, storeNumber: "870102", name: "Duka Mbili", location: "Nakuru", actor, pin: "5829" });
    if (!atB.ok) throw new Error(atB.code);
    const notice = async (subjectId: string, newPin: string) => {
      const { rows: before } = await env.test.db.query<{ id: string }>("SELECT id FROM outbox_messages WHERE msisdn = $1", [msisdn]);
      const reset = await env.services.pins.resetPin({ actor, channel: "admin", subjectId, newPin });
      expect(reset.ok).toBe(true);
      const { rows } = await env.test.db.query<{ id: string }>(
        "SELECT id FROM outbox_messages WHERE msisdn = $1 AND template = 'notice.pin_reset' AND NOT (id = ANY($2::uuid[]))",
        [msisdn, before.map((r) => r.id)],
      );
      expect(rows).toHaveLength(1);
      return routed(rows[0]!.id);
    };
    // Bank A's agent: not over bank B's link, though its prefix is longer and the number is bank B's agent's too.
    expect(await notice(atA.agent.id, "7391")).toMatchObject({ state: "queued", link_id: "bank-a-87", sender: "22557" });
    expect(await notice(atB.agent.id, "8264")).toMatchObject({ state: "queued", link_id: "bank-b-87", sender: "22998" });
  });

  it("a reply to a stranger who texted bank A's HTTP aggregator goes over bank A's link, not bank B's longer prefix", async () => {
    const app = express();
    app.use(smsMoRouter({
      aggregators: [{ name: "at", secret: "tenant-sms-aggregator-secret-0123", institutionId: env.bankId, shortCodes: ["22557"] }],
      commands: env.sms.commands,
      logger: { warn() {}, error() {} },
    }));
    const stranger = "+254712870202";
    const response = await request(app).post("/sms/at/mo").set("x-fingate-secret", "tenant-sms-aggregator-secret-0123").type("form")
      .send({ from: stranger, to: "22557", text: "HELP", date: "2026-11-29 20:30:00", id: "ATXtenant_1" });
    expect(response.status).toBe(200);
    await env.sms.commands.drain();
    const { rows } = await env.test.db.query<{ id: string }>("SELECT id FROM outbox_messages WHERE msisdn = $1", [stranger]);
    expect(rows).toHaveLength(1);
    expect(await routed(rows[0]!.id)).toMatchObject({ state: "queued", link_id: "bank-a-87", sender: "22557" });
  });

  it("bank B's customer is still reached through bank B's link", async () => {
    expect(await routed(await notify(bobB.msisdn))).toMatchObject({ state: "queued", link_id: "bank-b", sender: "22999" });
  });

  it("bank A's customer whom only bank B's links reach is not sent to through bank B: the message fails as unroutable", async () => {
    const row = await routed(await notify(farA.msisdn));
    expect(row.state).toBe("failed");
    expect(row.link_id).toBeNull();
    expect(row.last_error).toMatch(/no SMS link/);
  });
});

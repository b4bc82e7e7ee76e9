/**
 * What an SMSC sends that is not a fresh command, over real sockets and the real ledger: with two
 * nodes it binds to the bank twice (two links), and when our answer to a SEND is lost it
 * re-delivers the message over the other node (recognised: it pays nothing more); and it may send
 * intermediate notices (ENROUTE) unasked, which are no commands to answer. Senders that are no
 * subscriber's number by their type are refused, and a SEND from a customer who sent STOP is
 * still answered.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ESME_RINVSRCADR } from "../../src/sms/server/status-codes.js";
import { ESME_ROK } from "../../src/sms/smpp-status.js";
import { openSmsEnv, type Customer, type SmsEnv } from "../helpers/sms-env.js";
import { TestTelco } from "../helpers/smpp-telco.js";

let env: SmsEnv;
let payer: Customer;
const telcos: TestTelco[] = [];

async function bound(systemId: string): Promise<TestTelco> {
  const t = await TestTelco.connect(env.port);
  telcos.push(t);
  expect(await t.bind(systemId, "Secret1!")).toBe(ESME_ROK);
  return t;
}

const paymentsOf = async (accountId: string): Promise<number> =>
  Number((await env.test.db.query<{ n: string }>("SELECT count(*)::text AS n FROM transfers WHERE debit_account_id = $1", [accountId])).rows[0]!.n);

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100 && !(await check()); i++) await new Promise((r) => setTimeout(r, 50));
}

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-two-links-bank" });
  payer = await env.addCustomer("+254712322001", "Jane Wanjiru", "4827", "en", 5_000_00n);
  await env.addCustomer("+254712322002", "Otieno Kamau", "5903", "en", 1_00n);
  await env.addServerLink("node-1", { maxBinds: 5 });
  await env.addServerLink("node-2", { maxBinds: 2, msisdnPrefixes: [] });
});

afterAll(async () => {
  for (const t of telcos) await t.close();
  await env?.close();
});

describe("an SMSC's two nodes", () => {
  it("a SEND re-delivered over the other node pays once; another SEND over it pays", async () => {
    const [one, two] = [await bound("node-1"), await bound("node-2")];
    expect((await one.mo("254712322001", "22555", "SEND 0712322002 70 4827")).command_status).toBe(ESME_ROK);
    await until(async () => (await paymentsOf(payer.walletAccountId)) === 1);
    expect(await paymentsOf(payer.walletAccountId)).toBe(1);
    // The same PDU over the other node, then a different SEND there: only the second pays.
    expect((await two.mo("254712322001", "22555", "SEND 0712322002 70 4827")).command_status).toBe(ESME_ROK);
    expect((await two.mo("254712322001", "22555", "SEND 0712322002 71 4827")).command_status).toBe(ESME_ROK);
    await until(async () => (await paymentsOf(payer.walletAccountId)) === 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(await paymentsOf(payer.walletAccountId)).toBe(2);
    const amounts = await env.test.db.query<{ amount: string }>("SELECT amount::text AS amount FROM transfers WHERE debit_account_id = $1 ORDER BY seq", [payer.walletAccountId]);
    expect(amounts.rows.map((r) => r.amount)).toEqual(["7000", "7100"]);
  });

  it("an intermediate notice (esm_class 0x20) or an acknowledgement (0x08) is not run as a command, and nothing is sent back", async () => {
    const one = await bound("node-1");
    const replies = async () =>
      Number((await env.test.db.query<{ n: string }>("SELECT count(*)::text AS n FROM outbox_messages WHERE msisdn = '+254712322002'")).rows[0]!.n);
    const before = await replies();
    for (const esm_class of [0x20, 0x08]) {
      const notice = await one.mo("254712322002", "22555", "id:4f2a sub:001 dlvrd:000 submit date:2611290800 done date:2611290800 stat:ENROUTE err:000 text:", { esm_class });
      expect(notice.command_status).toBe(ESME_ROK);
    }
    // A real command after them is answered: its reply is the only new message to the number.
    expect((await one.mo("254712322002", "22555", "HELP")).command_status).toBe(ESME_ROK);
    await until(async () => (await replies()) > before);
    await new Promise((r) => setTimeout(r, 300));
    expect(await replies()).toBe(before + 1);
  });

  it("a sender that is no subscriber's number by its type (alphanumeric, national) is refused and changes nothing", async () => {
    const one = await bound("node-1");
    const language = async () => (await env.test.db.query<{ language: string }>("SELECT language FROM customers WHERE msisdn = '+254712322002'")).rows[0]!.language;
    expect(await language()).toBe("en");
    // An alphanumeric sender spelled like Otieno's number: LANG needs no PIN, so it would have changed his language.
    expect((await one.mo("254712322002", "22555", "LANG SW", { source_addr_ton: 5 })).command_status).toBe(ESME_RINVSRCADR);
    expect((await one.mo("712322002", "22555", "HELP", { source_addr_ton: 2 })).command_status).toBe(ESME_RINVSRCADR);
    await new Promise((r) => setTimeout(r, 200));
    expect(await language()).toBe("en");
    const stray = await env.test.db.query("SELECT 1 FROM outbox_messages WHERE msisdn = '+712322002'");
    expect(stray.rowCount).toBe(0);
  });

  it("a customer who sent STOP still hears the answer to their SEND (their receipt is held back), once", async () => {
    const one = await bound("node-1");
    const rows = async () =>
      (await env.test.db.query<{ template: string; state: string }>("SELECT template, state FROM outbox_messages WHERE msisdn = '+254712322001' ORDER BY created_at, id")).rows;
    expect((await one.mo("254712322001", "22555", "STOP")).command_status).toBe(ESME_ROK);
    await until(async () => (await rows()).some((r) => r.template === "reply.text"));
    const before = (await rows()).length;
    expect((await one.mo("254712322001", "22555", "SEND 0712322002 5 4827")).command_status).toBe(ESME_ROK);
    await until(async () => (await rows()).length >= before + 2);
    await new Promise((r) => setTimeout(r, 300));
    const added = (await rows()).slice(before);
    expect(added.map((r) => r.template).sort()).toEqual(["receipt.p2p_sent", "reply.text"]);
    expect(added.find((r) => r.template === "receipt.p2p_sent")?.state).toBe("suppressed");
  });

  it("the parts of one message sent over the two nodes are put together and run once", async () => {
    const [one, two] = [await bound("node-1"), await bound("node-2")];
    const replies = async () =>
      Number((await env.test.db.query<{ n: string }>("SELECT count(*)::text AS n FROM outbox_messages WHERE msisdn = '+254712322002' AND template = 'reply.text'")).rows[0]!.n);
    const before = await replies();
    const sar = (seq: number) => ({ sar_msg_ref_num: 901, sar_total_segments: 2, sar_segment_seqnum: seq });
    expect((await one.mo("254712322002", "22555", "BAL ", sar(1))).command_status).toBe(ESME_ROK);
    expect((await two.mo("254712322002", "22555", "5903", sar(2))).command_status).toBe(ESME_ROK);
    await until(async () => (await replies()) > before);
    await new Promise((r) => setTimeout(r, 300));
    expect(await replies()).toBe(before + 1);
  });
});

/**
 * Agents over USSD, end to end: real Africa's Talking payloads through supertest into the gateway
 * over the real core (PostgreSQL: directory, PINs with Argon2id, ledger, agents). Cash-in, an
 * agent's cash-out approved or declined by the customer on the next dial, the customer's own
 * withdrawal, a wrong store number, an agent without enough float; in English and in Hindi.
 */
import { randomUUID } from "node:crypto";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Agent } from "../../src/core/agents/types.js";
import { openUssdEnv, SYSTEM, type UssdEnv } from "../helpers/ussd-env.js";

const SECRET = "agents-at-secret-0123456789abcdef";
const ACTOR = { type: "system" as const, id: "e2e" };
const AGENT_PIN = "6253";
let env: UssdEnv;
let treasury: string;

const post = (sessionId: string, phoneNumber: string, text: string) =>
  request(env.app).post("/ussd/at").set("x-fingate-secret", SECRET).type("form").send({ sessionId, serviceCode: "*384#", phoneNumber, networkCode: "63902", text });

/** Walks a session through cumulative texts and returns each reply. */
async function walk(phone: string, inputs: string[], sessionId = randomUUID()): Promise<string[]> {
  const out: string[] = [];
  const texts = ["", ...inputs.map((_, i) => inputs.slice(0, i + 1).join("*"))];
  for (const text of texts) {
    const r = await post(sessionId, phone, text);
    expect(r.status).toBe(200);
    out.push(r.text);
  }
  return out;
}

async function customer(msisdn: string, name: string, language: "en" | "hi", pin: string, balanceMinor: bigint) {
  const c = await env.services.directory.register(SYSTEM, { institutionId: env.bankId, msisdn, displayName: name, language });
  if (!c.ok) throw new Error(c.code);
  const set = await env.services.pins.setPin({ actor: ACTOR, channel: "system", subjectId: c.value.id, msisdn, pin });
  expect(set.ok).toBe(true);
  if (balanceMinor > 0n) {
    const r = await env.ledger.transfer({ id: randomUUID(), debitAccountId: treasury, creditAccountId: c.value.walletAccountId, amountMinor: balanceMinor, code: "cash_in" });
    expect(r.result).toBe("ok");
  }
  return c.value;
}

async function agent(msisdn: string, storeNumber: string, name: string, floatMinor: bigint): Promise<Agent> {
  const made = await env.services.agents.onboard({ institutionId: env.bankId, msisdn, storeNumber, name, location: "Nairobi", pin: AGENT_PIN, actor: ACTOR });
  if (!made.ok) throw new Error(made.code);
  if (floatMinor > 0n) {
    const topUp = await env.services.agents.topUpFloat({ id: randomUUID(), agentId: made.agent.id, amountMinor: floatMinor, actor: ACTOR });
    expect(topUp.ok).toBe(true);
  }
  return made.agent;
}

async function balance(accountId: string): Promise<{ posted: bigint; pending: bigint }> {
  const a = await env.ledger.getAccount(accountId);
  if (!a) throw new Error("no account");
  return { posted: a.creditsPosted - a.debitsPosted, pending: a.debitsPending };
}

beforeAll(async () => {
  env = await openUssdEnv({ code: "bank-agents-e2e", secret: SECRET });
  treasury = (await env.ledger.createAccount({ institutionId: env.bankId, currency: "KES", kind: "settlement", flags: 0 })).id;
  // A cash-out costs the customer KES 10 up to KES 1,000 (KES 25 above); the agent earns half. Cash-in is free.
  await env.services.fees.put(
    env.bankId,
    "cash_out",
    {
      type: "cash_out",
      agentShareBps: 5_000,
      bands: [
        { minMinor: 1n, maxMinor: 1_000_00n, feeMinor: 10_00n },
        { minMinor: 1_000_01n, maxMinor: 70_000_00n, feeMinor: 25_00n },
      ],
    },
    new Date(),
    () => [],
  );
});

afterAll(() => env?.close());

describe("agents over USSD (Africa's Talking, PostgreSQL)", () => {
  it("cash-in: customer number → masked name → amount → agent PIN → receipt; a retried PIN hop posts once", async () => {
    const jane = await customer("+254712300010", "Jane Wanjiru", "en", "4827", 0n);
    const shop = await agent("+254712300090", "500100", "Amani Shop", 5_000_00n);
    const session = randomUUID();
    const r = await walk("+254712300090", ["1", "0712300010", "500", AGENT_PIN], session);
    expect(r[0]).toBe("CON Agent menu\n1. Cash-in (deposit)\n2. Cash-out (withdrawal)\n3. Float balance\n4. Today's transactions\n5. Commission earned");
    expect(r[1]).toBe("CON Cash-in: enter the customer's phone number:");
    expect(r[2]).toBe("CON Deposit for JANE W***. Enter the amount in KES:");
    expect(r[3]).toBe("CON Deposit KES 500.00 for JANE W***?\nEnter your agent PIN:");
    expect(r[4]).toMatch(/^END Deposited KES 500\.00 for JANE W\*\*\*\. Ref [0-9A-F]{10}\.$/);
    expect((await post(session, "+254712300090", `1*0712300010*500*${AGENT_PIN}`)).text).toBe(r[4]);
    expect((await balance(jane.walletAccountId)).posted).toBe(500_00n);
    expect((await balance(shop.floatAccountId)).posted).toBe(4_500_00n);
    // The agent's own figures, behind the agent PIN.
    expect((await walk("+254712300090", ["3", AGENT_PIN])).at(-1)).toBe("END Your float balance is KES 4,500.00.");
    expect((await walk("+254712300090", ["4", AGENT_PIN])).at(-1)).toMatch(/^END Today: 2 transactions\.\n.* Out KES 500\.00 Ref [0-9A-F]{10}\n.* In KES 5,000\.00 Ref [0-9A-F]{10}$/);
  });

  it("cash-in to a pseudonym that changes hands between the confirmation and the PIN goes to the customer the agent was shown", async () => {
    const jane = await customer("+254712300030", "Jane Akinyi", "en", "4827", 0n);
    const mallory = await customer("+254712300031", "Mallory Otieno", "en", "5831", 0n);
    await agent("+254712300070", "500199", "Baraka Shop", 5_000_00n);
    expect((await env.services.directory.claimAlias(SYSTEM, jane.id, "mama.akinyi")).ok).toBe(true);
    const session = randomUUID();
    const shown = await walk("+254712300070", ["1", "mama.akinyi", "300"], session);
    expect(shown[3]).toBe("CON Deposit KES 300.00 for JANE A***?\nEnter your agent PIN:");
    // Jane releases the pseudonym and Mallory claims it while the agent types the PIN.
    expect((await env.services.directory.releaseAlias(SYSTEM, jane.id, "mama.akinyi")).ok).toBe(true);
    // Its quarantine over (ALIAS_QUARANTINE_DAYS), as if the agent had taken a month over the PIN.
    await env.test.db.query("UPDATE customer_aliases SET released_at = released_at - interval '31 days' WHERE alias_key = 'mama.akinyi'");
    expect((await env.services.directory.claimAlias(SYSTEM, mallory.id, "mama.akinyi")).ok).toBe(true);
    const done = await post(session, "+254712300070", `1*mama.akinyi*300*${AGENT_PIN}`);
    expect(done.text).toMatch(/^END Deposited KES 300\.00 for JANE A\*\*\*\. Ref [0-9A-F]{10}\.$/);
    expect((await balance(jane.walletAccountId)).posted).toBe(300_00n);
    expect((await balance(mallory.walletAccountId)).posted).toBe(0n);
  });

  it("an agent without enough float is refused and nothing moves", async () => {
    const otieno = await customer("+254712300011", "Otieno Kamau", "en", "5903", 0n);
    const poor = await agent("+254712300091", "500101", "Small Kiosk", 100_00n);
    const r = await walk("+254712300091", ["1", "0712300011", "500", AGENT_PIN]);
    expect(r.at(-1)).toBe("END Not enough float. No money was moved. Top up your float first.");
    expect((await balance(poor.floatAccountId)).posted).toBe(100_00n);
    expect((await balance(otieno.walletAccountId)).posted).toBe(0n);
  });

  it("cash-out: the agent starts it, the customer's next dial offers it first and approves with the PIN", async () => {
    const mary = await customer("+254712300012", "Mary Akinyi", "en", "4827", 1_000_00n);
    const shop = await agent("+254712300092", "500102", "Baraka Store", 0n);
    const started = await walk("+254712300092", ["2", "0712300012", "300", AGENT_PIN]);
    expect(started[3]).toBe("CON Cash-out KES 300.00 for MARY A***?\nCustomer fee KES 10.00.\nEnter your agent PIN:");
    expect(started[4]).toMatch(/^END Sent\. MARY A\*\*\* must approve KES 300\.00 on their phone\. Give the cash only after that\. Ref [0-9A-F]{10}\.$/);
    expect(await balance(mary.walletAccountId)).toEqual({ posted: 1_000_00n, pending: 310_00n });
    const offer = await walk("+254712300012", ["1", "1111", "4827"]);
    expect(offer[0]).toBe(
      "CON Agent BARAKA S*** (store 500102) asks to pay you KES 300.00 in cash from your wallet.\nFee KES 10.00. Total KES 310.00.\n1. Approve\n2. Decline\n3. Later",
    );
    expect(offer[1]).toBe("CON Enter your PIN to approve:");
    expect(offer[2]).toBe("CON Wrong PIN. Try again.\nEnter your PIN to approve:");
    expect(offer[3]).toMatch(/^END Approved\. Collect KES 300\.00 in cash from BARAKA S\*\*\*\. Ref [0-9A-F]{10}\.$/);
    expect(await balance(mary.walletAccountId)).toEqual({ posted: 690_00n, pending: 0n });
    expect((await balance(shop.floatAccountId)).posted).toBe(300_00n);
    expect((await balance(shop.commissionAccountId)).posted).toBe(5_00n);
    // Her mini-statement: the cash-out with its fee as one line, under the approval's reference.
    const ref = /Ref ([0-9A-F]{10})/.exec(offer[3]!)![1];
    const stmt = (await walk("+254712300012", ["3", "4827"])).at(-1)!;
    expect(stmt).toMatch(new RegExp(`^END Last transactions:\\n.* Sent KES 310\\.00 Ref ${ref}\\n.* Received KES 1,000\\.00 Ref [0-9A-F]{10}$`));
    // The agent's receipt named the cash-out by the same reference, and so does the agent's list of today's movements.
    expect(started[4]).toContain(`Ref ${ref}.`);
    const today = (await walk("+254712300092", ["4", AGENT_PIN])).at(-1)!;
    expect(today).toMatch(new RegExp(`^END Today: 1 transaction\\.\\n.* In KES 300\\.00 Ref ${ref}$`));
    // Answered: the next dial is the main menu again.
    expect((await walk("+254712300012", []))[0]).toMatch(/^CON Welcome to fingate\n1\. Balance\n2\. Send money\n3\. Mini-statement\n4\. Withdraw cash/);
  });

  it("the customer declines an agent's cash-out: the hold is released, nothing reaches the float", async () => {
    const ali = await customer("+254712300013", "Ali Hassan", "en", "4827", 500_00n);
    const shop = await agent("+254712300093", "500103", "Juma Traders", 0n);
    await walk("+254712300093", ["2", "0712300013", "200", AGENT_PIN]);
    expect(await balance(ali.walletAccountId)).toEqual({ posted: 500_00n, pending: 210_00n });
    const later = await walk("+254712300013", ["3"]);
    expect(later[1]).toMatch(/^CON Welcome to fingate\n1\. Balance/);
    const declined = await walk("+254712300013", ["2"]);
    expect(declined[1]).toBe("END Declined. The money stays in your wallet.");
    expect(await balance(ali.walletAccountId)).toEqual({ posted: 500_00n, pending: 0n });
    expect((await balance(shop.floatAccountId)).posted).toBe(0n);
    // Two more declined: six holds and six releases (amount and fee legs), none a payment. The
    // mini-statement looks past them to the money that did move.
    for (let i = 0; i < 2; i++) {
      await walk("+254712300093", ["2", "0712300013", "200", AGENT_PIN]);
      expect((await walk("+254712300013", ["2"]))[1]).toBe("END Declined. The money stays in your wallet.");
    }
    const stmt = (await walk("+254712300013", ["3", "4827"])).at(-1)!;
    expect(stmt).toMatch(/^END Last transactions:\n.* Received KES 500\.00 Ref [0-9A-F]{10}$/);
  });

  it("the customer withdraws cash: agent number, store number, amount, fee, PIN → receipt", async () => {
    const grace = await customer("+254712300014", "Grace Wambui", "en", "4827", 1_000_00n);
    const shop = await agent("+254712300094", "500104", "Upendo Shop", 0n);
    const r = await walk("+254712300014", ["4", "0712300094", "500104", "200", "4827"]);
    expect(r[1]).toBe("CON Enter the agent's phone number:");
    expect(r[2]).toBe("CON Enter the agent's store number:");
    expect(r[3]).toBe("CON Agent UPENDO S***, store 500104. Enter the amount in KES:");
    expect(r[4]).toBe("CON Withdraw KES 200.00 at UPENDO S***, store 500104? Fee KES 10.00. Total KES 210.00.\nEnter your PIN to confirm:");
    expect(r[5]).toMatch(/^END Withdrew KES 200\.00 at UPENDO S\*\*\*, fee KES 10\.00\. Ref [0-9A-F]{10}\. Collect your cash from the agent\.$/);
    expect((await balance(grace.walletAccountId)).posted).toBe(790_00n);
    expect((await balance(shop.floatAccountId)).posted).toBe(200_00n);
  });

  it("a wrong store number is refused clearly before any amount, and nothing moves", async () => {
    const paul = await customer("+254712300015", "Paul Mutua", "en", "4827", 1_000_00n);
    await agent("+254712300095", "500105", "Neema Shop", 0n);
    const other = await agent("+254712300096", "500106", "Other Shop", 0n);
    const r = await walk("+254712300015", ["4", "0712300095", "500106"]);
    expect(r[3]).toBe("CON The agent number and store number do not match. Check both with the agent.\nEnter the agent's phone number:");
    expect((await balance(paul.walletAccountId)).posted).toBe(1_000_00n);
    expect((await balance(other.floatAccountId)).posted).toBe(0n);
  });

  it("a withdrawal over the customer's own limit is answered at the amount, with the most allowed, and may be corrected", async () => {
    const wanjiru = await customer("+254712300019", "Wanjiru Mwangi", "en", "4827", 30_000_00n);
    const shop = await agent("+254712300089", "500109", "Mwangi Stores", 0n);
    // A tier-0 customer's USSD limit is KES 10,000 a payment; the agent's own cap is higher.
    const r = await walk("+254712300019", ["4", "0712300089", "500109", "15000", "200", "4827"]);
    expect(r[4]).toBe("CON Over the limit. The most allowed now is KES 10,000.00.\nAgent MWANGI S***, store 500109. Enter the amount in KES:");
    expect(r[6]).toMatch(/^END Withdrew KES 200\.00 at MWANGI S\*\*\*, fee KES 10\.00\. Ref [0-9A-F]{10}\./);
    expect((await balance(wanjiru.walletAccountId)).posted).toBe(30_000_00n - 210_00n);
    expect((await balance(shop.floatAccountId)).posted).toBe(200_00n);
  });

  it("Hindi: withdrawal and cash-out approval for a Hindi customer; the agent menu for an agent who is a Hindi customer", async () => {
    const sunita = await customer("+254712300016", "सुनीता कुमारी", "hi", "4827", 1_000_00n);
    const raj = await customer("+254712300097", "राजेश कुमार", "hi", "5831", 0n);
    const shop = await agent("+254712300097", "500107", "Rajesh Kirana", 2_000_00n);
    const wd = await walk("+254712300016", ["4", "0712300097", "500107", "100", "98", "4827"]);
    expect(wd[1]).toBe("CON एजेंट का फ़ोन नंबर दर्ज करें:");
    // The total stays whole with its amount, on the page with the PIN prompt.
    expect(wd[4]).toBe("CON RAJESH K*** (500107) से KES 100.00 निकालें? शुल्क KES 10.00।\n98 आगे");
    expect(wd[5]).toBe("CON कुल KES 110.00।\nपिन दर्ज करें:\n0 पीछे");
    expect(wd[6]).toMatch(/^END RAJESH K\*\*\* से KES 100\.00 निकाले, शुल्क KES 10\.00। संदर्भ [0-9A-F]{10}।$/);
    for (const page of wd) expect(page.slice(4).length).toBeLessThanOrEqual(80);
    // The agent's menu in the agent's own (customer) language, paged within 80 characters.
    const menu = await walk("+254712300097", ["98"]);
    expect(menu[0]).toMatch(/^CON एजेंट मेनू\n1\. नकद जमा\n2\. नकद निकासी\n.*98 आगे$/s);
    expect(menu[1]).toMatch(/6\. मेरा निजी मेनू\n0 पीछे$/);
    // The long "customer must approve" screen takes two Hindi pages: 98 shows the rest, and ends.
    const cashOut = await walk("+254712300097", ["2", "0712300016", "200", AGENT_PIN, "98"]);
    expect(cashOut[4]).toMatch(/^CON भेजा गया। सुनीता कु\*\*\* को अपने फ़ोन पर KES 200\.00 स्वीकार करना होगा।.*\n98 आगे$/s);
    expect(cashOut[5]).toMatch(/^END .*संदर्भ [0-9A-F]{10}।$/s);
    const approve = await walk("+254712300016", ["1", "4827"]);
    expect(approve[0]).toMatch(/^CON RAJESH K\*\*\* \(स्टोर 500107\) से KES 200\.00 नकद निकालें\?\n/);
    expect(approve[1]).toBe("CON स्वीकार करने के लिए अपना पिन दर्ज करें:");
    expect(approve[2]).toMatch(/^END स्वीकार किया गया। RAJESH K\*\*\* से KES 200\.00 नकद लें। संदर्भ [0-9A-F]{10}।$/);
    for (const page of [...menu, ...cashOut, ...approve]) expect(page.slice(4).length).toBeLessThanOrEqual(80);
    expect((await balance(sunita.walletAccountId)).posted).toBe(1_000_00n - 110_00n - 210_00n);
    expect((await balance(shop.floatAccountId)).posted).toBe(2_300_00n);
    // The agent's personal menu, then a cash-in in Hindi from the agent menu.
    expect((await walk("+254712300097", ["6"]))[1]).toMatch(/^CON fingate में आपका स्वागत है\n1\. बैलेंस/);
    const cashIn = await walk("+254712300097", ["1", "0712300016", "50", AGENT_PIN]);
    expect(cashIn[2]).toBe("CON सुनीता कु*** के लिए जमा। राशि KES में दर्ज करें:");
    expect(cashIn.at(-1)).toMatch(/^END सुनीता कु\*\*\* के लिए KES 50\.00 जमा किए गए। संदर्भ [0-9A-F]{10}।$/);
    expect(raj.id).not.toBe(shop.id);
  });

  it("Hindi: a declined cash-out, a wrong store number, an agent without enough float", async () => {
    const anil = await customer("+254712300017", "अनिल शर्मा", "hi", "4827", 500_00n);
    await customer("+254712300098", "मीना देवी", "hi", "5831", 0n);
    const poor = await agent("+254712300098", "500108", "Meena Store", 50_00n);
    const started = await walk("+254712300098", ["2", "0712300017", "100", AGENT_PIN]);
    expect(started[3]).toMatch(/^CON अनिल श\*\*\* के लिए KES 100\.00 की निकासी\?\nग्राहक शुल्क KES 10\.00।/);
    const declined = await walk("+254712300017", ["2"]);
    expect(declined[1]).toBe("END अस्वीकार किया गया। पैसा आपके वॉलेट में ही है।");
    expect(await balance(anil.walletAccountId)).toEqual({ posted: 500_00n, pending: 0n });
    const wrong = await walk("+254712300017", ["4", "0712300098", "500199"]);
    expect(wrong[3]).toMatch(/^CON एजेंट नंबर और स्टोर नंबर मेल नहीं खाते।/);
    const short = await walk("+254712300098", ["1", "0712300017", "100", AGENT_PIN]);
    expect(short.at(-1)).toBe("END फ्लोट पर्याप्त नहीं। कोई पैसा नहीं भेजा गया। पहले फ्लोट भरें।");
    for (const page of [...started, ...declined, ...wrong, ...short]) expect(page.slice(4).length).toBeLessThanOrEqual(80);
    expect((await balance(poor.floatAccountId)).posted).toBe(50_00n);
    expect((await balance(anil.walletAccountId)).posted).toBe(500_00n);
  });
  it("a cash-in with a fee: the agent sees it and what the customer receives before the PIN; the customer's SMS says both", async () => {
    const amos = await customer("+254712300020", "Amos Kiprono", "en", "4827", 0n);
    const shop = await agent("+254712300080", "500110", "Baraka Shop", 5_000_00n);
    await env.services.fees.put(env.bankId, "cash_in", { type: "cash_in", agentShareBps: 5_000, bands: [{ minMinor: 1n, maxMinor: 70_000_00n, feeMinor: 30_00n }] }, new Date(), () => []);
    try {
      const r = await walk("+254712300080", ["1", "0712300020", "500", AGENT_PIN]);
      expect(r[3]).toBe("CON Deposit KES 500.00 for AMOS K***?\nCustomer fee KES 30.00; the customer receives KES 470.00.\nEnter your agent PIN:");
      expect(r[4]).toMatch(/^END Deposited KES 500\.00 for AMOS K\*\*\*\. Ref [0-9A-F]{10}\.$/);
      expect((await balance(amos.walletAccountId)).posted).toBe(470_00n);
      expect((await balance(shop.floatAccountId)).posted).toBe(4_500_00n);
    } finally {
      await env.services.fees.put(env.bankId, "cash_in", null, new Date(), () => []);
    }
  });

  it("a withdrawal refused by the agent's float ceiling tells the customer it is the agent's limit, not theirs", async () => {
    const zawadi = await customer("+254712300021", "Zawadi Chebet", "en", "4827", 1_000_00n);
    const kiosk = await agent("+254712300081", "500111", "Small Kiosk", 0n);
    expect((await env.services.agents.setLimits(kiosk.id, { maxFloatBalanceMinor: 100_00n }, ACTOR)).ok).toBe(true);
    const r = await walk("+254712300021", ["4", "0712300081", "500111", "300", "4827"]);
    expect(r.at(-1)).toBe("END This agent cannot take that amount now. Try a smaller amount or another agent.");
    expect((await balance(zawadi.walletAccountId)).posted).toBe(1_000_00n);
    expect((await balance(kiosk.floatAccountId)).posted).toBe(0n);
  });

  it("a bank fee changed between the withdrawal's quote and its PIN: refused as such, nothing moves", async () => {
    const imani = await customer("+254712300022", "Imani Njoroge", "en", "4827", 1_000_00n);
    const shop = await agent("+254712300082", "500112", "Jua Kali Shop", 0n);
    const session = randomUUID();
    const shown = await walk("+254712300022", ["4", "0712300082", "500112", "200"], session);
    expect(shown.at(-1)).toContain("Fee KES 10.00. Total KES 210.00.");
    const cashOut = (feeMinor: bigint) => ({
      type: "cash_out" as const,
      agentShareBps: 5_000,
      bands: [{ minMinor: 1n, maxMinor: 1_000_00n, feeMinor }, { minMinor: 1_000_01n, maxMinor: 70_000_00n, feeMinor: 25_00n }],
    });
    await env.services.fees.put(env.bankId, "cash_out", cashOut(15_00n), new Date(), () => []);
    try {
      const pin = await post(session, "+254712300022", "4*0712300082*500112*200*4827");
      expect(pin.text).toBe("END The fee has changed since it was shown. No money was moved. Please start again to see the new fee.");
      expect((await balance(imani.walletAccountId)).posted).toBe(1_000_00n);
      expect((await balance(shop.floatAccountId)).posted).toBe(0n);
    } finally {
      await env.services.fees.put(env.bankId, "cash_out", cashOut(10_00n), new Date(), () => []);
    }
  });
});

/**
 * Every customer flow in Hindi, end to end: real Africa's Talking payloads posted to two gateway
 * instances that share sessions in Redis, over the real core on PostgreSQL. Every page must fit
 * one UCS-2 screen (80 UTF-16 units) and the pager's "98" (more), "0" (back) and the engine's
 * "00" (home) must work. The mini-statement's five-line cap is checked in English as well.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { airBudget, expectOnAir, openUssdRig, type UssdRig } from "../helpers/ussd-rig.js";

const SECRET = "e2e-hindi-secret-0123456789abcdef";
const MAIN_P1 = "CON fingate में आपका स्वागत है\n1. बैलेंस\n2. पैसे भेजें\n3. मिनी स्टेटमेंट\n98 आगे";
const MAIN_P2 = "CON 4. नकद निकालें\n5. पिन बदलें\n6. मेरा खाता\n7. भाषा\n0 पीछे";
const ASK_PIN = "CON अपना पिन दर्ज करें:";

let rig: UssdRig;

/** Hindi pages: UCS-2, 80 units at most. */
function expectHindiPages(replies: string[]) {
  expectOnAir(replies);
  for (const reply of replies) expect(airBudget(reply).encoding, reply).toBe("ucs2");
}

/** A ledger reference as the menus show it (receipt, statement): the transfer id's first 10 hex digits, upper case. */
const refOf = (transferId: string) => transferId.replace(/-/g, "").slice(-10).toUpperCase();
const byValue = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

async function cashIn(walletAccountId: string, amountMinor: bigint): Promise<string> {
  const id = randomUUID();
  expect((await rig.ledger.transfer({ id, debitAccountId: rig.treasury, creditAccountId: walletAccountId, amountMinor, code: "cash_in" })).result).toBe("ok");
  return id;
}

/** Opens the mini-statement with the PIN, then pages with "98" (alternating instances) until the END page. */
async function statementPages(sessionId: string, phone: string, pin: string): Promise<string[]> {
  const opened = await rig.walk(sessionId, phone, ["3", pin], { alternate: true });
  const pages = [opened.at(-1)!];
  let text = `3*${pin}`;
  for (let i = 0; i < 10 && pages.at(-1)!.startsWith("CON "); i++) {
    text += "*98";
    const r = await rig.post(i % 2, sessionId, phone, text);
    expect(r.status).toBe(200);
    pages.push(r.text);
  }
  expect(pages.at(-1)).toMatch(/^END /);
  return pages;
}

beforeAll(async () => {
  rig = await openUssdRig({ code: "hindi-bank", secret: SECRET, p2pFee: true });
});

afterAll(() => rig?.close());

describe("USSD in Hindi, end to end (PostgreSQL + Redis, two instances)", () => {
  it("registers an unknown number that chooses Hindi, through to a tier-0 wallet in Hindi", async () => {
    const replies = await rig.walk("hi-reg-1", "+254722100001", ["Amina Njeri", "9", "98", "4", "4827", "4827"], { alternate: true });
    expect(replies).toEqual([
      "CON Welcome! This number is not registered yet.\nEnter your full name:",
      // हिन्दी makes the screen UCS-2: it fits 80 units.
      "CON Choose your language:\n1. English\n2. Kiswahili\n3. Francais\n4. हिन्दी",
      // With the notice it does not: two pages.
      "CON Invalid choice.\nChoose your language:\n1. English\n2. Kiswahili\n3. Francais\n98 More",
      "CON 4. हिन्दी\n0 Back",
      // From the choice on, the session speaks Hindi.
      "CON 4 अंकों का पिन चुनें:",
      "CON पिन फिर से दर्ज करें:",
      "END स्वागत है Amina Njeri! आपका वॉलेट तैयार है। इस्तेमाल के लिए फिर से डायल करें।",
    ]);
    expectOnAir(replies);
    expect([replies[1], replies[3]].map((page) => airBudget(page!).encoding)).toEqual(["ucs2", "ucs2"]);
    expectHindiPages(replies.slice(4));
    const found = await rig.services.directory.findCustomerByMsisdn("+254722100001");
    if (!found.ok) throw new Error(found.code);
    expect(found.value).toMatchObject({ kycTier: 0, language: "hi", displayName: "Amina Njeri", institutionId: rig.bankId });
    expect(await rig.balance(found.value.walletAccountId)).toBe(0n);
    // The next dial: the Hindi menu, and the PIN chosen at registration opens the balance.
    const next = await rig.walk("hi-reg-2", "+254722100001", ["1", "4827"], { alternate: true });
    expect(next).toEqual([MAIN_P1, ASK_PIN, "END आपका बैलेंस KES 0.00 है।"]);
    expectHindiPages(next);
  });

  it("pages the main menu with 98 and 0, refuses 98 past the last page, and 00 goes home from inside a flow", async () => {
    await rig.customer("+254722100010", "सुनीता कुमारी", "hi", "4827", 12_345_67n);
    const replies = await rig.walk("hi-nav-1", "+254722100010", ["98", "0", "98", "98", "2", "00", "98", "0", "1", "4827"], { alternate: true });
    expect(replies[0]).toBe(MAIN_P1);
    expect(replies[1]).toBe(MAIN_P2);
    expect(replies[2]).toBe(MAIN_P1);
    expect(replies[3]).toBe(MAIN_P2);
    // "98" on the last page is no page: the menu says the choice is invalid and starts over.
    expect(replies[4]).toMatch(/^CON अमान्य विकल्प।\nfingate में आपका स्वागत है\n1\. बैलेंस\n/);
    expect(replies[5]).toBe("CON भुगतान पाने वाले का फ़ोन नंबर या उपनाम दर्ज करें:");
    expect(replies[6]).toBe(MAIN_P1);
    expect(replies[7]).toBe(MAIN_P2);
    expect(replies[8]).toBe(MAIN_P1);
    expect(replies[9]).toBe(ASK_PIN);
    expect(replies[10]).toBe("END आपका बैलेंस KES 12,345.67 है।");
    expectHindiPages(replies);
  });

  it("sends money to a number and to a pseudonym, with the receipt, and the payee's statement shows it", async () => {
    const payer = await rig.customer("+254722100020", "राजेश शर्मा", "hi", "4827", 1_000_00n);
    const payee = await rig.customer("+254722100021", "Peter Otieno", "hi", "5831", 0n);
    const claimed = await rig.services.directory.claimAlias({ actorType: "system", actorId: "e2e", channel: "system" }, payee.id, "peter.o");
    expect(claimed.ok).toBe(true);

    const byNumber = await rig.walk("hi-send-1", "+254722100020", ["2", "0722100021", "250", "98", "0", "98", "1", "4827"], { alternate: true });
    expect(byNumber[1]).toBe("CON भुगतान पाने वाले का फ़ोन नंबर या उपनाम दर्ज करें:");
    expect(byNumber[2]).toBe("CON PETER O*** को भुगतान। राशि KES में दर्ज करें:");
    // The confirmation is two pages: amount and fee, then the options.
    const confirm1 = "CON PETER O*** को KES 250.00 भेजें?\nशुल्क KES 10.00। कुल KES 260.00।\n98 आगे";
    expect(byNumber[3]).toBe(confirm1);
    expect(byNumber[4]).toBe("CON 1. पुष्टि करें\n2. रद्द करें\n0 पीछे");
    expect(byNumber[5]).toBe(confirm1);
    expect(byNumber[6]).toBe(byNumber[4]);
    expect(byNumber[7]).toBe("CON पुष्टि के लिए अपना पिन दर्ज करें:");
    const receipt = /^END PETER O\*\*\* को KES 250\.00 भेजे गए। संदर्भ ([0-9A-F]{10})।\nशुल्क KES 10\.00।$/.exec(byNumber[8]!);
    expect(receipt, byNumber[8]).not.toBeNull();
    expectHindiPages(byNumber);

    const byAlias = await rig.walk("hi-send-2", "+254722100020", ["2", "Peter.O", "50", "1", "4827"], { alternate: true });
    expect(byAlias[2]).toBe("CON PETER O*** को भुगतान। राशि KES में दर्ज करें:");
    expect(byAlias[3]).toBe("CON PETER O*** को KES 50.00 भेजें?\nशुल्क KES 0.00। कुल KES 50.00।\n98 आगे");
    expect(byAlias[5]).toMatch(/^END PETER O\*\*\* को KES 50\.00 भेजे गए। संदर्भ [0-9A-F]{10}।\nशुल्क KES 0\.00।$/);
    expectHindiPages(byAlias);

    expect(await rig.balance(payer.walletAccountId)).toBe(1_000_00n - 260_00n - 50_00n);
    expect(await rig.balance(payee.walletAccountId)).toBe(300_00n);
    const received = await rig.ledger.listAccountTransfers(payee.walletAccountId, { limit: 10 });
    expect(received.map((t) => t.amountMinor).sort(byValue)).toEqual([50_00n, 250_00n]);
    expect(received.map((t) => refOf(t.id))).toContain(receipt![1]);

    const stmt = await statementPages("hi-send-3", "+254722100021", "5831");
    expectHindiPages(stmt);
    const lines = stmt.join("\n").split("\n").filter((l) => l.includes("प्राप्त"));
    expect(lines).toHaveLength(2);
    expect(lines.some((l) => l.endsWith(`प्राप्त KES 250.00 संदर्भ ${receipt![1]}`))).toBe(true);
  });

  it("reads a phone set to Hindi digits: payee number, amount, confirmation and PIN typed as ०-९ send the same money", async () => {
    const payer = await rig.customer("+254722100080", "कविता देवी", "hi", "4827", 1_000_00n);
    const payee = await rig.customer("+254722100081", "Mary Wanjiru", "hi", "5831", 0n);
    // "०७२२१०००८१" is 0722100081, "१२०" is 120, "१" confirms and "४८२७" is the PIN 4827.
    const replies = await rig.walk("hi-digits-1", "+254722100080", ["२", "०७२२१०००८१", "१२०", "१", "४८२७"], { alternate: true });
    expect(replies[1]).toBe("CON भुगतान पाने वाले का फ़ोन नंबर या उपनाम दर्ज करें:");
    expect(replies[2]).toBe("CON MARY W*** को भुगतान। राशि KES में दर्ज करें:");
    expect(replies[3]).toBe("CON MARY W*** को KES 120.00 भेजें?\nशुल्क KES 10.00। कुल KES 130.00।\n98 आगे");
    expect(replies[4]).toBe("CON पुष्टि के लिए अपना पिन दर्ज करें:");
    expect(replies[5]).toMatch(/^END MARY W\*\*\* को KES 120\.00 भेजे गए। संदर्भ [0-9A-F]{10}।/);
    expect(await rig.balance(payer.walletAccountId)).toBe(1_000_00n - 130_00n);
    expect(await rig.balance(payee.walletAccountId)).toBe(120_00n);
    // A wrong PIN in those digits is still wrong: "४८२८" is 4828.
    const wrong = await rig.walk("hi-digits-2", "+254722100080", ["१", "४८२८"], { alternate: true });
    expect(wrong[2]).toMatch(/^CON गलत पिन। फिर से कोशिश करें।/);
  });

  // One payment, one reference: the USSD receipt's and the SMS receipts' (transferReference).
  it("the SMS receipts of a USSD payment quote the reference the USSD receipt showed", async () => {
    await rig.customer("+254722100025", "दीपक वर्मा", "hi", "4827", 100_00n);
    await rig.customer("+254722100026", "Mary Akinyi", "en", "5831", 0n);
    const sent = await rig.walk("hi-send-ref", "+254722100025", ["2", "0722100026", "40", "1", "4827"]);
    const ussdRef = /संदर्भ ([0-9A-F]{10})।/.exec(sent.at(-1)!)?.[1];
    expect(ussdRef, sent.at(-1)).toBeDefined();
    const sms = await rig.test.db.query<{ ref: string }>(
      "SELECT params->>'ref' AS ref FROM outbox_messages WHERE template LIKE 'receipt.p2p_%' AND msisdn IN ('+254722100025', '+254722100026')",
    );
    expect(sms.rows).toHaveLength(2);
    for (const row of sms.rows) expect(row.ref).toBe(ussdRef);
  });

  it("mini-statement: the last 5 of 7 transfers, paged within 80 characters in Hindi", async () => {
    const c = await rig.customer("+254722100030", "कविता देवी", "hi", "4827", 0n);
    const ids: string[] = [];
    for (let i = 1; i <= 7; i++) ids.push(await cashIn(c.walletAccountId, BigInt(i * 101)));
    const pages = await statementPages("hi-stmt-1", "+254722100030", "4827");
    expectHindiPages(pages);
    expect(pages[0]).toMatch(/^CON पिछले लेन-देन:\n/);
    for (const page of pages.slice(0, -1)) expect(page).toMatch(/\n98 आगे(\n0 पीछे)?$/);
    const lines = pages.join("\n").split("\n").filter((l) => / प्राप्त KES /.test(l));
    expect(lines).toHaveLength(5);
    const shown = lines.map((l) => /प्राप्त KES (\d+\.\d\d) संदर्भ ([0-9A-F]{10})$/.exec(l)!);
    expect(shown.map((m) => m[1]).sort()).toEqual(["3.03", "4.04", "5.05", "6.06", "7.07"]);
    expect(shown.map((m) => m[2]).sort()).toEqual(ids.slice(2).map(refOf).sort());
    // "0" goes back a page inside the statement.
    const back = await rig.post(1, "hi-stmt-2", "+254722100030", "");
    expect(back.text).toBe(MAIN_P1);
    const texts = ["3", "3*4827", "3*4827*98", "3*4827*98*0"];
    const seen: string[] = [];
    for (const text of texts) seen.push((await rig.post(0, "hi-stmt-2", "+254722100030", text)).text);
    expect(seen[1]).toBe(pages[0]);
    expect(seen[2]).toBe(pages[1]);
    expect(seen[3]).toBe(pages[0]);
  });

  it("a paged statement (an END) answers anything but 98 and 0 with the same page: its PIN step does not run again", async () => {
    const c = await rig.customer("+254722100082", "अनीता सिंह", "hi", "4827", 0n);
    for (let i = 1; i <= 7; i++) await cashIn(c.walletAccountId, BigInt(i * 101));
    const pages = await statementPages("hi-stmt-pin-0", "+254722100082", "4827");
    const audit = (await rig.counts()).audit;
    const texts = ["", "3", "3*4827", "3*4827*1111", "3*4827*1111*00", "3*4827*1111*00*98"];
    const seen: string[] = [];
    for (const text of texts) seen.push((await rig.post(seen.length % 2, "hi-stmt-pin-1", "+254722100082", text)).text);
    expect(seen[2]).toBe(pages[0]);
    // "1111" is no PIN check (it would have counted a wrong PIN) and "00" no way home: the same page.
    expect(seen[3]).toBe(pages[0]);
    expect(seen[4]).toBe(pages[0]);
    expect(seen[5]).toBe(pages[1]);
    // One PIN check for the dial (the statement's), none for "1111".
    expect((await rig.counts()).audit - audit).toBe(1);
  });

  it("mini-statement: the last 5 of 7 transfers in English too", async () => {
    const c = await rig.customer("+254722100031", "Jane Wanjiru", "en", "4827", 0n);
    const ids: string[] = [];
    for (let i = 1; i <= 7; i++) ids.push(await cashIn(c.walletAccountId, BigInt(i * 101)));
    const pages = await statementPages("en-stmt-1", "+254722100031", "4827");
    expectOnAir(pages);
    expect(pages[0]).toMatch(/^CON Last transactions:\n/);
    const lines = pages.join("\n").split("\n").filter((l) => / Received KES /.test(l));
    expect(lines).toHaveLength(5);
    const shown = lines.map((l) => /Received KES (\d+\.\d\d) Ref ([0-9A-F]{10})$/.exec(l)!);
    expect(shown.map((m) => m[1]).sort()).toEqual(["3.03", "4.04", "5.05", "6.06", "7.07"]);
    expect(shown.map((m) => m[2]).sort()).toEqual(ids.slice(2).map(refOf).sort());
  });

  // END closes the session: its last page offers no "0 Back" that nothing could be typed to.
  it("the last page of a paged statement (an END) offers no '0 Back' it cannot honour", async () => {
    const c = await rig.customer("+254722100032", "Rita Mehta", "hi", "4827", 0n);
    for (let i = 1; i <= 3; i++) await cashIn(c.walletAccountId, BigInt(i * 100));
    const pages = await statementPages("hi-stmt-end", "+254722100032", "4827");
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.at(-1)).not.toMatch(/\n0 पीछे$/);
  });

  it("changes the PIN (weak and mismatched new PINs refused on the way), then only the new PIN works", async () => {
    const c = await rig.customer("+254722100040", "अनिल कुमार", "hi", "4827", 75_00n);
    const replies = await rig.walk("hi-cp-1", "+254722100040", ["5", "1234", "98", "9152", "9153", "9152", "9152", "4827"], { alternate: true });
    expect(replies.slice(1)).toEqual([
      "CON नया 4 अंकों का पिन दर्ज करें:",
      "CON यह पिन आसानी से अनुमान लगाया जा सकता है। दूसरा चुनें।\n98 आगे",
      "CON नया 4 अंकों का पिन दर्ज करें:\n0 पीछे",
      "CON नया पिन फिर से दर्ज करें:",
      "CON पिन मेल नहीं खाते। फिर से शुरू करें।\nनया 4 अंकों का पिन दर्ज करें:",
      "CON नया पिन फिर से दर्ज करें:",
      "CON अपना मौजूदा पिन दर्ज करें:",
      "END आपका पिन बदल दिया गया है।",
    ]);
    expectHindiPages(replies);
    const withOld = await rig.walk("hi-cp-2", "+254722100040", ["1", "4827", "9152"], { alternate: true });
    expect(withOld.slice(2)).toEqual(["CON गलत पिन। फिर से कोशिश करें।\nअपना पिन दर्ज करें:", "END आपका बैलेंस KES 75.00 है।"]);
    expectHindiPages(withOld);
    const pin = await rig.test.db.query<{ n: number }>("SELECT count(*)::int AS n FROM pin_credentials WHERE subject_id = $1", [c.id]);
    expect(pin.rows[0]!.n).toBe(1);
  });

  it("refuses in Hindi: unknown payee, invalid amount (paged notices), cancel moves nothing", async () => {
    const payer = await rig.customer("+254722100050", "मीना गुप्ता", "hi", "4827", 100_00n);
    await rig.customer("+254722100051", "John Kamau", "hi", "5831", 0n);
    const before = await rig.counts();
    const r = await rig.walk("hi-ref-1", "+254722100050", ["2", "0799999999", "98", "0", "0722100051", "12.345", "98", "abc", "20", "2"], { alternate: true });
    expect(r[2]).toBe("CON इस नंबर या उपनाम पर भुगतान नहीं हो सकता।\n98 आगे");
    expect(r[3]).toBe("CON भुगतान पाने वाले का फ़ोन नंबर या उपनाम दर्ज करें:\n0 पीछे");
    expect(r[4]).toBe(r[2]);
    expect(r[5]).toBe("CON JOHN K*** को भुगतान। राशि KES में दर्ज करें:");
    expect(r[6]).toBe("CON अमान्य राशि। अंक लिखें, अधिकतम 2 दशमलव।\n98 आगे");
    expect(r[7]).toBe("CON JOHN K*** को भुगतान। राशि KES में दर्ज करें:\n0 पीछे");
    expect(r[8]).toBe(r[6]);
    expect(r[9]).toMatch(/^CON JOHN K\*\*\* को KES 20\.00 भेजें\?/);
    expect(r[10]).toBe("END रद्द किया गया। कोई पैसा नहीं भेजा गया।");
    expectHindiPages(r);
    expect(await rig.balance(payer.walletAccountId)).toBe(100_00n);
    expect((await rig.counts()).transfers).toBe(before.transfers);
  });

  it("refuses in Hindi: insufficient funds, and over the limit with what can still be sent (which then goes through)", async () => {
    const poor = await rig.customer("+254722100060", "सुरेश यादव", "hi", "4827", 10_00n);
    const rich = await rig.customer("+254722100061", "प्रिया सिंह", "hi", "4827", 30_000_00n);
    await rig.customer("+254722100062", "Tom Kiprono", "hi", "5831", 0n);
    const insufficient = await rig.walk("hi-ref-2", "+254722100060", ["2", "0722100062", "50", "1", "4827"], { alternate: true });
    expect(insufficient.at(-1)).toBe("END अपर्याप्त बैलेंस। कोई पैसा नहीं भेजा गया।");
    expectHindiPages(insufficient);
    expect(await rig.balance(poor.walletAccountId)).toBe(10_00n);

    // Said at the amount, before any PIN; the session goes on at the amount.
    const over = await rig.walk("hi-ref-3", "+254722100061", ["2", "0722100062", "15000"], { alternate: true });
    expectHindiPages(over);
    // 15,000 is over the per-payment maximum: what one payment may carry now, not "today".
    const remaining = /^CON सीमा से अधिक। अभी अधिकतम KES ([0-9,]+\.\d\d)।/.exec(over.at(-1)!);
    expect(remaining, over.at(-1)).not.toBeNull();
    expect(await rig.balance(rich.walletAccountId)).toBe(30_000_00n);
    // What the refusal said can still be sent, goes through.
    const amount = remaining![1]!.replace(/,/g, "");
    expect(Number(amount)).toBeGreaterThan(0);
    expect(Number(amount)).toBeLessThan(15_000);
    // The next dial offers to continue at the amount (the session above was left there).
    const sent = await rig.walk("hi-ref-4", "+254722100061", ["1", amount, "1", "4827"], { alternate: true });
    expect(sent.at(-1)).toMatch(new RegExp(`^END TOM K\\*\\*\\* को KES ${remaining![1]!.replace(/\./g, "\\.")} भेजे गए। संदर्भ [0-9A-F]{10}।`));
  });

  it("locks the PIN after repeated wrong PINs, in Hindi, and the right PIN does not open it", async () => {
    const c = await rig.customer("+254722100070", "गीता रानी", "hi", "4827", 500_00n);
    await rig.customer("+254722100071", "Paul Mutua", "hi", "5831", 0n);
    const locked = await rig.walk("hi-lock-1", "+254722100070", ["2", "0722100071", "100", "1", "1111", "2222", "3333"], { alternate: true });
    expect(locked[5]).toBe("CON गलत पिन। फिर से कोशिश करें।\nपुष्टि के लिए अपना पिन दर्ज करें:");
    expect(locked[6]).toBe(locked[5]);
    expect(locked[7]).toMatch(/^END आपका पिन .+ तक लॉक है।$/);
    expectHindiPages(locked);
    const after = await rig.walk("hi-lock-2", "+254722100070", ["1", "4827"], { alternate: true });
    expect(after[2]).toMatch(/^END आपका पिन .+ तक लॉक है।$/);
    expect(await rig.balance(c.walletAccountId)).toBe(500_00n);
  });
});

/**
 * The settings flows end to end over Africa's Talking payloads: two gateway instances sharing
 * sessions in Redis (this file's key prefix), hops alternating between them, over the real core on
 * PostgreSQL (this file's schema). Language (main menu 7) switches the customer's language for the
 * sessions that follow; My account (main menu 6) lists and claims aliases, which others then pay
 * to, and chooses the default instrument, which is where payments to the customer then land.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM } from "../helpers/ussd-env.js";
import { airBudget, expectOnAir, openUssdRig, type UssdRig } from "../helpers/ussd-rig.js";

const SECRET = "e2e-settings-secret-0123456789abcdef";
const PIN = "4827";

const MAIN_EN = "CON Welcome to fingate\n1. Balance\n2. Send money\n3. Mini-statement\n4. Withdraw cash\n5. Change PIN\n6. My account\n7. Language";
const MAIN_HI_P1 = "CON fingate में आपका स्वागत है\n1. बैलेंस\n2. पैसे भेजें\n3. मिनी स्टेटमेंट\n98 आगे";
const MAIN_HI_P2 = "CON 4. नकद निकालें\n5. पिन बदलें\n6. मेरा खाता\n7. भाषा\n0 पीछे";
const MAIN_SW = "CON Karibu fingate\n1. Salio\n2. Tuma pesa\n3. Taarifa fupi\n4. Toa pesa\n5. Badilisha PIN\n6. Akaunti yangu\n7. Lugha";
const LANGUAGES = "1. English\n2. Kiswahili\n3. Francais\n4. हिन्दी";
const ACCOUNT_EN = "CON My account\n1. My aliases\n2. Claim an alias\n3. Default payment account";
const ASK_ALIAS = "Enter an alias (3-20 letters, digits, . or _):";

let rig: UssdRig;

const local = (msisdn: string) => `0${msisdn.slice(4)}`;

async function languageOf(msisdn: string): Promise<string> {
  const found = await rig.services.directory.findCustomerByMsisdn(msisdn);
  if (!found.ok) throw new Error(found.code);
  return found.value.language;
}

/** The p2p transfers into an account. */
async function paidInto(accountId: string): Promise<string[]> {
  const r = await rig.test.db.query<{ amount: string }>("SELECT amount::text AS amount FROM transfers WHERE code = 'p2p' AND credit_account_id = $1 ORDER BY seq", [accountId]);
  return r.rows.map((row) => row.amount);
}

beforeAll(async () => {
  rig = await openUssdRig({ code: "settings-bank", secret: SECRET });
});

afterAll(() => rig?.close());

describe("settings over USSD (Africa's Talking payloads, PostgreSQL + Redis, two instances)", () => {
  it("the language menu switches the customer's language, and the next session speaks it: English → Hindi → Kiswahili", async () => {
    const c = await rig.customer("+254744100001", "Jane Wanjiru", "en", PIN, 12_345_67n);

    // English: an invalid choice is refused (the list with the notice takes two pages), then 4 is Hindi.
    const toHindi = await rig.walk("lang-1", c.msisdn, ["7", "9", "4"], { alternate: true });
    expect(toHindi).toEqual([
      MAIN_EN,
      `CON Choose your language:\n${LANGUAGES}`,
      "CON Invalid choice.\nChoose your language:\n1. English\n2. Kiswahili\n3. Francais\n98 More",
      // The confirmation is already in the new language.
      "END आपकी भाषा अब हिन्दी है।",
    ]);
    expectOnAir(toHindi);
    expect(await languageOf(c.msisdn)).toBe("hi");

    // The next session is in Hindi (80-unit pages); 7 on the menu's second page, then 2 is Kiswahili.
    const toSwahili = await rig.walk("lang-2", c.msisdn, ["98", "7", "2"], { alternate: true });
    expect(toSwahili).toEqual([MAIN_HI_P1, MAIN_HI_P2, `CON अपनी भाषा चुनें:\n${LANGUAGES}`, "END Lugha yako sasa ni Kiswahili."]);
    expectOnAir(toSwahili);
    for (const page of toSwahili.slice(0, 3)) expect(airBudget(page).encoding, page).toBe("ucs2");
    expect(await languageOf(c.msisdn)).toBe("sw");

    // And the one after in Kiswahili, through to the balance behind the PIN.
    const inSwahili = await rig.walk("lang-3", c.msisdn, ["1", PIN], { alternate: true });
    expect(inSwahili).toEqual([MAIN_SW, "CON Weka PIN yako:", "END Salio lako ni Ksh 12,345.67."]);
    expectOnAir(inSwahili);

    // Each switch is audited once, and nothing else about the customer changed.
    const audited = await rig.test.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE action = 'directory.customer.set_language'");
    expect(audited.rows[0]!.n).toBe(2);
    const after = await rig.services.directory.getCustomer(c.id);
    expect(after).toMatchObject({ msisdn: c.msisdn, displayName: c.displayName, kycTier: c.kycTier, walletAccountId: c.walletAccountId, language: "sw" });
  });

  it("My account: no aliases yet, a taken and an invalid alias refused with their messages, a claimed alias listed and paid to", async () => {
    const owner = await rig.customer("+254744200001", "Wanjiku Muthoni", "en", PIN);
    const other = await rig.customer("+254744200002", "Otieno Ouma", "en", "5831", 500_00n);
    const held = await rig.services.directory.claimAlias(SYSTEM, other.id, "otieno.o");
    expect(held.ok).toBe(true);

    const none = await rig.walk("acct-1", owner.msisdn, ["6", "1"], { alternate: true });
    expect(none).toEqual([MAIN_EN, ACCOUNT_EN, "END You have no alias yet."]);

    const rows = await rig.counts();
    const claim = await rig.walk("acct-2", owner.msisdn, ["6", "2", "Otieno.O", "9lives", "admin", "Mama.Wanjiku"], { alternate: true });
    expect(claim.slice(1)).toEqual([
      ACCOUNT_EN,
      `CON ${ASK_ALIAS}`,
      // Taken by another customer (whatever the case typed).
      `CON That alias is taken. Try another.\n${ASK_ALIAS}`,
      // Not starting with a letter.
      `CON Use 3-20 letters or digits, starting with a letter.\n${ASK_ALIAS}`,
      // Reserved words read as taken.
      `CON That alias is taken. Try another.\n${ASK_ALIAS}`,
      // Shown as typed; matched without case (its key is mama.wanjiku).
      "END Your alias Mama.Wanjiku is ready. Others can pay you with it.",
    ]);
    expectOnAir(claim);
    // One alias more, and it is the owner's; the other customer's is still theirs.
    expect((await rig.counts()).aliases).toBe(rows.aliases + 1);
    const owned = await rig.test.db.query<{ customer_id: string }>("SELECT customer_id FROM customer_aliases WHERE alias_key IN ('mama.wanjiku', 'otieno.o') ORDER BY alias_key");
    expect(owned.rows.map((r) => r.customer_id)).toEqual([owner.id, other.id]);

    const listed = await rig.walk("acct-3", owner.msisdn, ["6", "1"], { alternate: true });
    expect(listed.at(-1)).toBe("END Your aliases: Mama.Wanjiku");

    const paid = await rig.walk("acct-4", other.msisdn, ["2", "MAMA.wanjiku", "50", "1", "5831"], { alternate: true });
    expect(paid[2]).toBe("CON Pay WANJIKU M***. Enter the amount in KES:");
    expect(paid.at(-1)).toMatch(/^END Sent KES 50\.00 to WANJIKU M\*\*\*\. Ref [0-9A-F]{10}\.\nFee KES 0\.00\.$/);
    expect(await rig.balance(owner.walletAccountId)).toBe(50_00n);
    expect(await rig.balance(other.walletAccountId)).toBe(450_00n);
    expect(await paidInto(owner.walletAccountId)).toEqual(["5000"]);
  });

  it("My account: a customer holding ten names with those released in quarantine is refused a new alias in their language, and may take back their own", async () => {
    // Phones of this case: +25471285 9xxx (the alias-cap range).
    const cases = [
      { msisdn: "+254712859001", name: "Otieno Squat", lang: "en" as const, inputs: ["6", "2"], stem: "duka",
        refused: "END You have given up too many aliases recently. You can take one of them back, or try again later.",
        ready: "END Your alias duka.a is ready. Others can pay you with it." },
      { msisdn: "+254712859002", name: "Amadou Diallo", lang: "fr" as const, inputs: ["6", "2"], stem: "boutique",
        refused: "END Vous avez libere trop d'alias recemment. Vous pouvez en reprendre un, ou reessayer plus tard." },
      { msisdn: "+254712859003", name: "Ravi Kumar", lang: "hi" as const, inputs: ["98", "6", "2"], stem: "dukan",
        refused: "END आपने हाल में बहुत उपनाम छोड़े हैं। उनमें से एक वापस लें या बाद में कोशिश करें।" },
    ];
    for (const c of cases) {
      const customer = await rig.customer(c.msisdn, c.name, c.lang, PIN);
      const names = ["a", "b", "c", "d", "e"].map((x) => `${c.stem}.${x}`);
      // Five claimed and released (in quarantine), then five more claimed and one of those released: ten names, four active.
      for (const alias of names) expect(await rig.services.directory.claimAlias(SYSTEM, customer.id, alias)).toMatchObject({ ok: true });
      for (const alias of names) expect(await rig.services.directory.releaseAlias(SYSTEM, customer.id, alias)).toMatchObject({ ok: true });
      for (const x of ["v", "w", "x", "y", "z"]) expect(await rig.services.directory.claimAlias(SYSTEM, customer.id, `${c.stem}.${x}`)).toMatchObject({ ok: true });
      expect(await rig.services.directory.releaseAlias(SYSTEM, customer.id, `${c.stem}.z`)).toMatchObject({ ok: true });
      const before = await rig.counts();

      const refused = await rig.walk(`cap-${c.lang}-1`, c.msisdn, [...c.inputs, `${c.stem}.new`], { alternate: true });
      expect(refused.at(-1), c.lang).toBe(c.refused);
      // (The message only: the French main menu has é and è, which this helper counts as UCS-2.)
      expectOnAir([refused.at(-1)!]);
      // Nothing written but the refusal's audit entry.
      expect(await rig.counts()).toEqual({ ...before, audit: before.audit + 1 });

      if (c.ready) {
        const back = await rig.walk(`cap-${c.lang}-2`, c.msisdn, [...c.inputs, `${c.stem}.a`], { alternate: true });
        expect(back.at(-1)).toBe(c.ready);
        expect((await rig.counts()).aliases).toBe(before.aliases);
      }
    }
  });

  it("My account: choosing the default instrument among two makes payments to the customer land in it, and choosing back restores the wallet", async () => {
    const owner = await rig.customer("+254744300001", "Achieng Odhiambo", "en", PIN);
    const payer = await rig.customer("+254744300002", "Kamau Njoroge", "en", "5831", 1_000_00n);
    const added = await rig.services.directory.addInstrument(SYSTEM, owner.id, { kind: "wallet", alias: "savings" });
    if (!added.ok) throw new Error(added.code);
    const savings = added.value;
    expect(savings.isDefault).toBe(false);

    // An invalid choice changes nothing and shows the list again; choosing the default keeps it.
    const invalid = await rig.walk("inst-0", owner.msisdn, ["6", "3", "7", "1"], { alternate: true });
    const list = "Choose your default account:\n1. wallet (default)\n2. savings";
    expect(invalid.slice(2)).toEqual([`CON ${list}`, `CON Invalid choice.\n${list}`, "END wallet is now your default account."]);

    const chosen = await rig.walk("inst-1", owner.msisdn, ["6", "3", "2"], { alternate: true });
    expect(chosen.slice(1)).toEqual([ACCOUNT_EN, "CON Choose your default account:\n1. wallet (default)\n2. savings", "END savings is now your default account."]);
    const instruments = await rig.services.directory.listInstruments(owner.id);
    expect(instruments.map((i) => [i.alias, i.isDefault])).toEqual([
      ["wallet", false],
      ["savings", true],
    ]);

    // A payment to the owner's number now lands in the savings instrument's ledger account.
    const pay = (sessionId: string, amount: string) => rig.walk(sessionId, payer.msisdn, ["2", local(owner.msisdn), amount, "1", "5831"], { alternate: true });
    expect((await pay("inst-2", "80")).at(-1)).toMatch(/^END Sent KES 80\.00 to ACHIENG O\*\*\*\. Ref [0-9A-F]{10}\.\nFee KES 0\.00\.$/);
    expect(await rig.balance(savings.accountId)).toBe(80_00n);
    expect(await rig.balance(owner.walletAccountId)).toBe(0n);
    expect(await paidInto(savings.accountId)).toEqual(["8000"]);
    expect(await paidInto(owner.walletAccountId)).toEqual([]);

    // The menu now marks savings as the default; choosing the wallet again sends the next payment there.
    const back = await rig.walk("inst-3", owner.msisdn, ["6", "3", "1"], { alternate: true });
    expect(back.slice(2)).toEqual(["CON Choose your default account:\n1. wallet\n2. savings (default)", "END wallet is now your default account."]);
    expect((await pay("inst-4", "30")).at(-1)).toMatch(/^END Sent KES 30\.00 to ACHIENG O\*\*\*\. Ref /);
    expect(await rig.balance(owner.walletAccountId)).toBe(30_00n);
    expect(await rig.balance(savings.accountId)).toBe(80_00n);
    expect(await rig.balance(payer.walletAccountId)).toBe(1_000_00n - 110_00n);
  });
});

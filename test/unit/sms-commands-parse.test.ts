/** Reading SMS commands in every language, and what of a message may be logged. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { MENU_LANGUAGES } from "../../src/menus/index.js";
import { parseCommand, redactedText } from "../../src/sms/commands/parse.js";
import { refusalKey } from "../../src/sms/commands/refusals.js";
import { gsmSeptets } from "../../src/sms/gsm-alphabet.js";
import { COMMANDS, loadVocabulary, normalizeWord } from "../../src/sms/commands/vocabulary.js";

const v = loadVocabulary();

describe("parseCommand", () => {
  it("reads each command in English and in the other languages' words", () => {
    expect(parseCommand("BAL 4827", v)).toEqual({ kind: "balance", lang: "en", pin: "4827" });
    expect(parseCommand("  salio   4827 ", v)).toEqual({ kind: "balance", lang: "sw", pin: "4827" });
    expect(parseCommand("Relevé 4827", v)).toEqual({ kind: "statement", lang: "fr", pin: "4827" });
    expect(parseCommand("बैलेंस 4827", v)).toEqual({ kind: "balance", lang: "hi", pin: "4827" });
    expect(parseCommand("send 0700000002 150.50 4827", v)).toEqual({ kind: "send", lang: "en", payee: "0700000002", amount: "150.50", pin: "4827" });
    expect(parseCommand("TUMA jane.w 100 4827", v)).toEqual({ kind: "send", lang: "sw", payee: "jane.w", amount: "100", pin: "4827" });
    expect(parseCommand("भेजें 0700000002 100 4827", v)).toMatchObject({ kind: "send", lang: "hi" });
    expect(parseCommand("LANG kiswahili", v)).toEqual({ kind: "language", lang: "en", target: "sw" });
    expect(parseCommand("langue hindi", v)).toEqual({ kind: "language", lang: "fr", target: "hi" });
    expect(parseCommand("भाषा हिंदी", v)).toEqual({ kind: "language", lang: "hi", target: "hi" });
    expect(parseCommand("help", v)).toEqual({ kind: "help", lang: "en" });
    expect(parseCommand("ARRÊT", v)).toEqual({ kind: "stop", lang: "fr" });
    expect(parseCommand("anza", v)).toEqual({ kind: "start", lang: "sw" });
  });

  it("reads digits typed in a phone's own script (Hindi, Bengali, Arabic) as the same digits", () => {
    expect(parseCommand("बैलेंस ४८२७", v)).toEqual({ kind: "balance", lang: "hi", pin: "4827" });
    expect(parseCommand("भेजें ०७०००००००२ १५०.५० ४८२७", v)).toEqual({ kind: "send", lang: "hi", payee: "0700000002", amount: "150.50", pin: "4827" });
    expect(parseCommand("BAL ৪৮২৭", v)).toEqual({ kind: "balance", lang: "en", pin: "4827" });
    expect(parseCommand("BAL ٤٨٢٧", v)).toEqual({ kind: "balance", lang: "en", pin: "4827" });
    // Digits of another kind (superscripts, circled) are not digits: the usage answers.
    expect(parseCommand("BAL ⁴⁸²⁷", v)).toEqual({ kind: "usage", lang: "en", command: "balance" });
  });

  it("answers a known word with wrong arguments with that command's usage", () => {
    expect(parseCommand("BAL", v)).toEqual({ kind: "usage", lang: "en", command: "balance" });
    expect(parseCommand("BAL 12", v)).toEqual({ kind: "usage", lang: "en", command: "balance" });
    expect(parseCommand("BAL 4827 4827", v)).toEqual({ kind: "usage", lang: "en", command: "balance" });
    expect(parseCommand("SEND 0700000002 150", v)).toEqual({ kind: "usage", lang: "en", command: "send" });
    expect(parseCommand("SEND 0700000002 150 48a7", v)).toEqual({ kind: "usage", lang: "en", command: "send" });
    expect(parseCommand(`SEND ${"x".repeat(40)} 150 4827`, v)).toEqual({ kind: "usage", lang: "en", command: "send" });
    expect(parseCommand("LANG klingon", v)).toEqual({ kind: "usage", lang: "en", command: "language" });
    expect(parseCommand("STOP now", v)).toEqual({ kind: "usage", lang: "en", command: "stop" });
  });

  it("does not know anything else", () => {
    for (const text of ["", "   ", "hello", "*384#", "4827", "BALANCE4827", "x".repeat(500)]) expect(parseCommand(text, v)).toEqual({ kind: "unknown", lang: null });
  });
});

describe("redactedText", () => {
  it("keeps the command word only, and nothing of a text that is not a command", () => {
    expect(redactedText("SEND 0700000002 150 4827", v)).toBe("send");
    expect(redactedText("salio 4827", v)).toBe("balance");
    expect(redactedText("my pin is 4827", v)).toBe("[text]");
  });
});

describe("vocabulary", () => {
  it("has every reply and error in every language", () => {
    const english = v.keys("en").sort();
    for (const lang of MENU_LANGUAGES) expect(v.keys(lang).sort(), lang).toEqual(english);
    expect(english).toEqual(expect.arrayContaining(["err.generic", "err.pin_wrong", "help", "short_help", "sent", "balance"]));
  });

  it("has words for every command in every language, and no word with two meanings", () => {
    const meanings = new Map<string, Set<string>>();
    for (const lang of MENU_LANGUAGES) {
      const file = JSON.parse(readFileSync(path.resolve("locales", lang, "sms-commands.json"), "utf8")) as { keywords: Record<string, string[]> };
      for (const command of COMMANDS) {
        expect(file.keywords[command]?.length, `${lang} ${command}`).toBeGreaterThan(0);
        for (const word of file.keywords[command]!) {
          const key = normalizeWord(word);
          meanings.set(key, (meanings.get(key) ?? new Set()).add(command));
          expect(v.command(word)?.command, word).toBe(command);
        }
      }
    }
    for (const [word, commands] of meanings) expect(commands.size, word).toBe(1);
  });

  it("maps refusal codes to reply keys that exist", () => {
    const keys = new Set(v.keys("en"));
    for (const code of ["pin_wrong", "pin_locked", "insufficient_funds", "daily_amount_exceeded", "balance_limit_exceeded", "payee_not_found", "self_payment", "sim_swap_cooling", "whatever"]) {
      expect(keys.has(refusalKey(code)), code).toBe(true);
    }
    // The payee's wallet is full: said as such, not as the sender's own limit or a generic failure.
    expect(refusalKey("balance_limit_exceeded")).toBe("err.payee_limit");
  });

  it("keeps every English, Swahili and French reply in GSM-7 (one 160-character part, not 70 in UCS-2)", () => {
    for (const lang of ["en", "sw", "fr"] as const) {
      for (const key of v.keys(lang)) {
        const text = v.render(lang, key, {});
        expect([...text].filter((c) => gsmSeptets(c) === null), `${lang} ${key}`).toEqual([]);
      }
    }
  });

  it("tells a repeated paid SEND when it was paid, its reference and how long to wait", () => {
    const params = {
      amount: { money: 150_00n, currency: "KES" },
      name: "OTIENO K*****",
      time: { date: new Date("2026-11-29T16:05:00Z"), timeZone: "Africa/Nairobi", time: "only" as const },
      ref: "0A1B2C3D4E",
      minutes: "4",
    };
    expect(v.render("fr", "send_repeat_ignored", params)).toBe(
      "Vous avez déjà envoyé 150,00 KES à OTIENO K***** à 19:05 (Ref 0A1B2C3D4E). Rien de plus n'a été envoyé. Pour renvoyer cette somme, attendez 4 min.",
    );
    expect(v.render("sw", "send_repeat_ignored", params)).toMatch(/^Tayari umetuma Ksh 150\.00 kwa OTIENO K\*{5} saa 19:05 \(Kumb 0A1B2C3D4E\)\..* dakika 4\.$/);
  });

  it("renders amounts exactly, with plain spaces for GSM", () => {
    expect(v.render("fr", "balance", { amount: { money: 123_456_78n, currency: "KES" } })).toBe("Votre solde est de 123 456,78 KES.");
    expect(v.render("en", "balance", { amount: { money: 5n, currency: "KES" } })).toBe("Your balance is KES 0.05.");
  });
});

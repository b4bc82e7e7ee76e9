/** Random sessions through the hop processor: whatever is typed, the channel stays within its rules. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createTranslator } from "../../src/infra/i18n/index.js";
import { customerMenuEngine, DEFAULT_MENU_LIMITS } from "../../src/menus/index.js";
import { AesGcmSealer } from "../../src/menus/adapters/sealer.js";
import { MemorySessionStore } from "../../src/menus/engine/session-store.js";
import { fits } from "../../src/ussd/gsm.js";
import { HopProcessor } from "../../src/ussd/hop.js";
import { FakeBank } from "../helpers/menu-fakes.js";
import { containsPin } from "../helpers/pin-leak.js";

const translator = createTranslator();
const silent = { info() {}, warn() {}, error() {} };
const PIN = "4827";

const inputArb = fc.oneof(
  fc.constantFrom("1", "2", "3", "4", "5", "6", "9", "0", "98", "00", PIN, "5931", "peter", "0700000020", "150", "1.5", "", "x", "toString", "__proto__"),
  fc.string({ maxLength: 20 }).filter((s) => !s.includes("*")),
);

describe("hop processor fuzz", () => {
  it("never crashes, never exceeds a screen, replays retries, stores no PIN, pays at most once per session", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(inputArb, { maxLength: 12 }),
        fc.constantFrom("en" as const, "hi" as const, "fr" as const),
        fc.boolean(),
        async (inputs, language, registered) => {
          const bank = new FakeBank();
          if (registered) bank.addCustomer("+254700000010", "Jane Wanjiru", { pin: PIN, balance: 1_000_00n, language });
          bank.addCustomer("+254700000020", "Peter Otieno", { alias: "peter" });
          const ctx = bank.context("+254700000010");
          const sessions = new MemorySessionStore();
          const hops = new HopProcessor({
            engine: customerMenuEngine(),
            translator,
            sessions,
            menu: { ...ctx, limits: DEFAULT_MENU_LIMITS, sealer: new AesGcmSealer() },
            hopSecret: Buffer.alloc(32, 9),
            logger: silent,
          });
          const texts = ["", ...inputs.map((_, i) => inputs.slice(0, i + 1).join("*"))];
          for (const text of texts) {
            const req = { aggregator: "at", sessionId: "fz", msisdn: "+254700000010", serviceCode: "*384#", mode: "cumulative" as const, text, hopKey: text };
            const reply = await hops.handle(req);
            expect(fits(reply.text), reply.text).toBe(true);
            expect(reply.text).not.toMatch(/Service unavailable/);
            // The retry is answered as before, and says it was a retry (nothing stored).
            expect(await hops.handle(req)).toEqual({ ...reply, replayed: true });
            const stored = (await sessions.get("at:fz")) ?? "";
            expect(stored).not.toContain(`"${PIN}"`);
            // Looked for as a token, ids taken out: a wallet id "7f48277e-…" or a timestamp holds the PIN's digits by chance.
            if (text.includes(PIN)) expect(containsPin(stored, text)).toBe(false);
            if (reply.end) break;
          }
          expect(bank.sends.size).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 250 },
    );
  });
});

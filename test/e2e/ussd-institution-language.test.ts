/**
 * An unknown number hears the institution's default language; a customer who chose a language
 * keeps it; a change of the institution's language reaches the next session without a restart.
 */
import { randomUUID } from "node:crypto";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openUssdEnv, SYSTEM, type UssdEnv } from "../helpers/ussd-env.js";

const SECRET = "e2e-lang-secret-0123456789abcdef";
let env: UssdEnv;
let session = 0;

const dial = async (phoneNumber: string) => {
  const res = await request(env.app)
    .post("/ussd/at")
    .set("x-fingate-secret", SECRET)
    .type("form")
    .send({ sessionId: `lang-${process.pid}-${++session}`, serviceCode: "*384#", phoneNumber, networkCode: "63902", text: "" });
  expect(res.status).toBe(200);
  return res.text;
};

beforeAll(async () => {
  env = await openUssdEnv({ code: `lang-${process.pid}`, secret: SECRET, language: "sw", languageRefreshMs: 50 });
});
afterAll(async () => {
  await env?.close();
});

describe("the institution's default language", () => {
  it("greets an unknown number in the institution's language", async () => {
    expect(await dial("+254712400001")).toMatch(/^CON Karibu! Nambari hii bado haijasajiliwa\./);
  });

  it("does not override a customer's own choice", async () => {
    const made = await env.services.directory.register(SYSTEM, { institutionId: env.bankId, msisdn: "+254712400002", displayName: "Asha", language: "en" });
    expect(made.ok).toBe(true);
    expect(await dial("+254712400002")).toMatch(/^CON .*Balance/s);
  });

  it("follows a change of the institution's language without a restart", async () => {
    expect(await env.services.institutions.setLanguage(env.bankId, "fr", [])).toBe(true);
    let n = 10;
    // A fresh number each time: a number that hung up mid-menu would be offered to resume instead.
    await expect.poll(() => dial(`+2547124000${++n}`), { timeout: 2_000, interval: 60 }).toMatch(/^CON Bienvenue ! Ce numéro n'est pas encore inscrit\./);
  });

  it("tells a customer of another bank to dial their own bank's code, in their language, and shows nothing else", async () => {
    const other = randomUUID();
    await env.test.db.query("INSERT INTO institutions (id, code, name, currency, timezone) VALUES ($1, $2, 'Other Bank', 'KES', 'Africa/Nairobi')", [
      other,
      `other-${process.pid}`,
    ]);
    const made = await env.services.directory.register(SYSTEM, { institutionId: other, msisdn: "+254712400090", displayName: "Musa Other", language: "en" });
    expect(made.ok).toBe(true);
    expect(await dial("+254712400090")).toBe("END This number is registered with another bank. Please dial your bank's code.");
  });
});

/**
 * Malformed and hostile Africa's Talking payloads against the real gateway (two instances,
 * Redis sessions, PostgreSQL core): injection strings in every field, each required field missing
 * in turn, oversized bodies (declared and streamed), wrong secrets. A refusal is clean (its status
 * and a fixed text, nothing echoed), leaves no session record and no lock in Redis, and changes no
 * row; hostile input that does reach a session is refused by the step and never echoed or stored.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOnAir, openUssdRig, type UssdRig } from "../helpers/ussd-rig.js";

const SECRET = "e2e-hostile-secret-0123456789abcdef";
const PHONE = "+254755000001";
const MAIN = "CON Welcome to fingate\n1. Balance\n2. Send money\n3. Mini-statement\n4. Withdraw cash\n5. Change PIN\n6. My account\n7. Language";

const INJECTIONS = [
  "'",
  "\"",
  "' OR '1'='1",
  "'; DROP TABLE customers;--",
  "<script>alert(1)</script>",
  "{{t}}",
  "{{name}}",
  "%s%s%s%n",
  "${process.exit()}",
  "../../etc/passwd",
  "a\u0000b",
  "\r\nSet-Cookie: x=1",
  "\u202eevil",
  "ह".repeat(300),
  "😀".repeat(100),
];

let rig: UssdRig;

const valid = (sessionId: string) => ({ sessionId, serviceCode: "*384#", phoneNumber: PHONE, networkCode: "63902", text: "" });
const postForm = (body: Record<string, string> | string, instance = 0, secret: string | null = SECRET) => {
  const r = request(rig.instances[instance]!.app).post("/ussd/at").type("form");
  if (secret !== null) r.set("x-fingate-secret", secret);
  return r.send(body);
};

/** Every key under this file's prefix (sessions, locks, resume points). */
async function allKeys(): Promise<string[]> {
  return (await rig.redis.keys(`${rig.prefix}*`)).sort();
}

/** The session's record and its lock are absent. */
async function expectNoSession(sessionId: string) {
  expect(await rig.redis.exists(`${rig.prefix}at:${sessionId}`, `${rig.prefix}lock:at:${sessionId}`), sessionId).toBe(0);
}

beforeAll(async () => {
  rig = await openUssdRig({ code: "hostile-bank", secret: SECRET });
  await rig.customer(PHONE, "Jane Wanjiru", "en", "4827", 500_00n);
  await rig.customer("+254755000002", "Peter Otieno", "en", "5831", 0n);
});

afterAll(() => rig?.close());

describe("hostile Africa's Talking payloads (PostgreSQL + Redis, two instances)", () => {
  it("refuses injection strings in sessionId, phoneNumber and serviceCode, and control characters or over-long text, with a plain 400", async () => {
    const rows = await rig.counts();
    const keys = await allKeys();
    let n = 0;
    for (const evil of INJECTIONS) {
      const id = `hostile-${++n}`;
      const cases: Record<string, string>[] = [
        { ...valid(id), sessionId: evil },
        { ...valid(id), sessionId: `${id}${evil}` },
        { ...valid(id), phoneNumber: evil },
        { ...valid(id), phoneNumber: `${PHONE}${evil}` },
        { ...valid(id), serviceCode: `*384#${evil}` },
      ];
      for (const [i, body] of cases.entries()) {
        const r = await postForm(body, i % 2);
        expect([r.status, r.text], `${JSON.stringify(body)}`).toEqual([400, "END bad request"]);
        expect(r.headers["set-cookie"]).toBeUndefined();
      }
      await expectNoSession(id);
      await expectNoSession(evil);
    }
    // Text with a control character, or over 1,024 characters, is refused whole (not truncated).
    for (const text of ["1\u0000", "2\u0007*0755000002", "1\r\n", "\u007f", "1".repeat(1_025), "😀".repeat(513)]) {
      const r = await postForm({ ...valid("hostile-text"), text });
      expect([r.status, r.text], JSON.stringify(text.slice(0, 20))).toEqual([400, "END bad request"]);
    }
    await expectNoSession("hostile-text");
    expect(await allKeys()).toEqual(keys);
    expect(await rig.counts()).toEqual(rows);
  });

  it("refuses a payload missing any one required field, or not a form at all", async () => {
    const rows = await rig.counts();
    const keys = await allKeys();
    for (const field of ["sessionId", "phoneNumber", "serviceCode"] as const) {
      const body: Record<string, string> = valid(`missing-${field}`);
      delete body[field];
      const r = await postForm(body);
      expect([r.status, r.text], field).toEqual([400, "END bad request"]);
      const empty = await postForm({ ...valid(`missing-${field}`), [field]: "" }, 1);
      expect([empty.status, empty.text], `${field} empty`).toEqual([400, "END bad request"]);
      await expectNoSession(`missing-${field}`);
    }
    // A field sent as an array (sessionId[]=…) is not the field.
    const array = await postForm("sessionId[]=arr-1&serviceCode=*384%23&phoneNumber=%2B254755000001&text=");
    expect(array.status).toBe(400);
    const json = await request(rig.instances[0]!.app).post("/ussd/at").set("x-fingate-secret", SECRET).send(valid("as-json"));
    expect([json.status, json.text]).toEqual([400, "END bad request"]);
    const plain = await request(rig.instances[1]!.app).post("/ussd/at").set("x-fingate-secret", SECRET).set("content-type", "text/plain").send("sessionId=plain-1");
    expect(plain.status).toBe(400);
    const many = await postForm(Object.fromEntries([...Object.entries(valid("many-fields")), ...Array.from({ length: 40 }, (_, i) => [`f${i}`, "x"])]));
    expect([many.status, many.text]).toEqual([400, "END bad request"]);
    for (const id of ["arr-1", "as-json", "plain-1", "many-fields"]) await expectNoSession(id);
    expect(await allKeys()).toEqual(keys);
    expect(await rig.counts()).toEqual(rows);
  });

  it("refuses a 10 KB text with 413, whether the length is declared or the body is streamed", async () => {
    const rows = await rig.counts();
    const keys = await allKeys();
    const big = await postForm({ ...valid("big-1"), text: "1*".repeat(5_120) });
    expect([big.status, big.text]).toEqual([413, "END request too large"]);
    const unicode = await postForm({ ...valid("big-2"), text: "ह".repeat(1_000) }, 1);
    expect(unicode.status).toBe(413);
    // Chunked, no content-length: refused as the bytes pass the limit.
    const server = http.createServer(rig.instances[0]!.app);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(
          { port: (server.address() as AddressInfo).port, host: "127.0.0.1", path: "/ussd/at", method: "POST", headers: { "x-fingate-secret": SECRET, "content-type": "application/x-www-form-urlencoded", "transfer-encoding": "chunked" } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        req.write(new URLSearchParams({ sessionId: "big-3", serviceCode: "*384#", phoneNumber: PHONE }).toString());
        for (let i = 0; i < 10; i++) req.write(`&text${i}=${"9".repeat(1_024)}`);
        req.end();
      });
      expect(status).toBe(413);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    for (const id of ["big-1", "big-2", "big-3"]) await expectNoSession(id);
    expect(await allKeys()).toEqual(keys);
    expect(await rig.counts()).toEqual(rows);
  });

  it("refuses a wrong, missing, over-long or mis-placed secret with 401 before reading the body", async () => {
    const rows = await rig.counts();
    const keys = await allKeys();
    for (const secret of [null, "", "wrong-secret-0123456789abcdef", SECRET.slice(0, -1), `${SECRET}x`, SECRET.toUpperCase(), "x".repeat(600), "' OR '1'='1"]) {
      const r = await postForm(valid("secret-1"), 1, secret);
      expect([r.status, r.text], String(secret).slice(0, 30)).toEqual([401, "unauthorized"]);
    }
    const inQuery = await request(rig.instances[0]!.app).post(`/ussd/at?secret=${SECRET}`).type("form").send(valid("secret-1"));
    expect(inQuery.status).toBe(401);
    const inBody = await request(rig.instances[0]!.app).post("/ussd/at").type("form").send({ ...valid("secret-1"), secret: SECRET });
    expect(inBody.status).toBe(401);
    await expectNoSession("secret-1");
    expect(await allKeys()).toEqual(keys);
    expect(await rig.counts()).toEqual(rows);
    // The session id the refused requests named is untouched: it starts normally.
    expect((await postForm(valid("secret-1"))).text).toBe(MAIN);
  });

  it("hostile text inside a session gets the step's own refusal, is never echoed, and moves nothing", async () => {
    const rows = await rig.counts();
    let n = 0;
    const printable = INJECTIONS.filter((s) => ![...s].some((ch) => ch.charCodeAt(0) < 0x20 || ch === "\u007f") && s.length <= 64);
    for (const evil of printable) {
      n++;
      // As the dial string's extra segments: an unknown shortcut, the main menu.
      const first = await postForm({ ...valid(`in-first-${n}`), text: evil }, n % 2);
      expect([first.status, first.text], evil).toEqual([200, MAIN]);
      // As the payee, the amount and the PIN of a payment (the "*" the text joins inputs with is left out).
      const input = evil.replace(/\*/g, "");
      const steps: [string, RegExp][] = [
        [`2*${input}`, /^CON (This number or alias cannot be paid\.|Check the number or alias and try again\.|Use 3-20 letters or digits, starting with a letter\.)\nEnter the phone number or alias to pay:$/],
        [`2*0755000002*${input}`, /^CON Invalid amount\. Use digits, with at most 2 decimals\.\nPay PETER O\*\*\*\. Enter the amount in KES:$/],
        [`2*0755000002*10*1*${input}`, /^CON (A PIN is 4 digits\.|Wrong PIN\. Try again\.)\nEnter your PIN to confirm:$/],
      ];
      for (const [i, [text, expected]] of steps.entries()) {
        const sessionId = `in-step-${n}-${i}`;
        const segments = text.split("*");
        let reply = "";
        for (let k = 0; k <= segments.length; k++) {
          const r = await postForm({ ...valid(sessionId), text: segments.slice(0, k).join("*") }, k % 2);
          expect(r.status).toBe(200);
          reply = r.text;
        }
        expect(reply, `${evil} at step ${i}`).toMatch(expected);
        expectOnAir([reply]);
        // The hop released its lock; nothing of the input is in the stored session.
        expect(await rig.redis.exists(`${rig.prefix}lock:at:${sessionId}`)).toBe(0);
        const stored = (await rig.redis.get(`${rig.prefix}at:${sessionId}`)) ?? "";
        expect(stored.length).toBeGreaterThan(0);
        if (input.length >= 4) expect(stored, evil).not.toContain(input);
        // Walked to the end so that the number's next session is not offered to resume this one.
        await postForm({ ...valid(sessionId), text: `${text}*00` });
      }
    }
    const after = await rig.counts();
    expect(after.transfers).toBe(rows.transfers);
    expect(after.customers).toBe(rows.customers);
    expect(after.pins).toBe(rows.pins);
  });

  const HOSTILE_NAMES = ["Amina '; DROP TABLE customers;--", "Amina {{t}}", "Amina %s%s", "Amina <script>alert()</script>", "Amina ${x}"];

  it("a hostile name at registration creates no customer and no PIN, and is never echoed or rendered", async () => {
    const rows = await rig.counts();
    for (const [i, name] of HOSTILE_NAMES.entries()) {
      const replies = await rig.walk(`reg-evil-${i}`, `+2547550001${String(i).padStart(2, "0")}`, [name, "1", "4827", "4827"], { alternate: true });
      expectOnAir(replies);
      expect(replies.at(-1), name).toMatch(/^(END|CON) Please enter a valid name \(letters only\)\./);
      for (const reply of replies) expect(reply).not.toMatch(/DROP|\{\{|%s|<script|\$\{/);
    }
    expect(await rig.counts()).toMatchObject({ customers: rows.customers, pins: rows.pins, transfers: rows.transfers });
    // A real name with an apostrophe is fine, and shown as typed.
    const ok = await rig.walk("reg-ok", "+254755000199", ["Amina O'Brien", "1", "4827", "4827"]);
    expect(ok.at(-1)).toBe("END Welcome Amina O'Brien! Your wallet is ready. Dial again to use it.");
  });

  // The name step applies the directory's own rule, so a name it would refuse never gets as far
  // as the language and the PIN typed twice.
  it("a name the directory refuses is refused at the name step, before the PIN is typed twice", async () => {
    for (const [i, name] of HOSTILE_NAMES.entries()) {
      const replies = await rig.walk(`reg-early-${i}`, `+2547550002${String(i).padStart(2, "0")}`, [name]);
      expect(replies[1], name).toBe("CON Please enter a valid name (letters only).\nEnter your full name:");
    }
  });

  it("a name posing as the platform, its staff or a brand is refused at the name step, and nothing is registered", async () => {
    const rows = await rig.counts();
    for (const [i, name] of ["Fingate Support", "Safaricom Care", "M-Pesa Agent"].entries()) {
      const replies = await rig.walk(`reg-official-${i}`, `+2547550003${String(i).padStart(2, "0")}`, [name, "1", "4827", "4827"]);
      expect(replies[1], name).toBe("CON That name is not allowed. Please enter your own name.\nEnter your full name:");
    }
    expect(await rig.counts()).toMatchObject({ customers: rows.customers, pins: rows.pins });
  });
});

// The terminal phone's protocol side, against a fake gateway: dial strings, the cumulative `text`,
// END, masking of PIN answers in the echo, and hanging up when the input runs out.
import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { parseDialArgs, parseDialString, runDial, type DialOptions } from "../../src/cli/dial.js";
import { containsPin } from "../helpers/pin-leak.js";

describe("parseDialString", () => {
  it("splits the service code from a shortcut, as aggregators do", () => {
    expect(parseDialString("*384#")).toEqual({ serviceCode: "*384#", initialText: "" });
    expect(parseDialString("*384*1#")).toEqual({ serviceCode: "*384#", initialText: "1" });
    expect(parseDialString("*384*2*0712345678*500#")).toEqual({ serviceCode: "*384#", initialText: "2*0712345678*500" });
    expect(parseDialString("*384**1#")).toEqual({ serviceCode: "*384#", initialText: "1" });
    expect(parseDialString("384")).toEqual({ serviceCode: "*384#", initialText: "" });
  });

  it("refuses what a keypad cannot dial", () => {
    for (const bad of ["", "*#", "*abc#", "*384*+2547#", "*384#1", "*384# ; rm -rf"]) expect(parseDialString(bad)).toBeNull();
  });
});

describe("parseDialArgs", () => {
  it("takes the secret from the command line, then the environment", async () => {
    const parsed = await parseDialArgs(["*384*1#", "--msisdn", "+254 700-000002", "--url", "http://127.0.0.1:4000", "--secret", "s".repeat(20)], {});
    expect(parsed).toEqual({
      ok: true,
      options: {
        serviceCode: "*384#",
        initialText: "1",
        msisdn: "+254700000002",
        url: "http://127.0.0.1:4000/ussd/at",
        secret: "s".repeat(20),
        aggregator: "at",
        networkCode: "63902",
      },
    });
    const fromEnv = await parseDialArgs(["*384#"], { FINGATE_USSD_AT_SECRET: "e".repeat(20), PORT: "3100" });
    expect(fromEnv).toMatchObject({ ok: true, options: { secret: "e".repeat(20), url: "http://localhost:3100/ussd/at", msisdn: "+254700000001" } });
  });

  it("keeps the path of --url: a gateway behind a proxy under a prefix", async () => {
    const secret = "s".repeat(20);
    for (const [given, expected] of [
      ["http://gw.example/fingate", "http://gw.example/fingate/ussd/at"],
      ["http://gw.example/fingate/", "http://gw.example/fingate/ussd/at"],
      ["http://127.0.0.1:4000/", "http://127.0.0.1:4000/ussd/at"],
    ]) {
      expect(await parseDialArgs(["*384#", "--url", given!, "--secret", secret], {}), given).toMatchObject({ ok: true, options: { url: expected } });
    }
    expect(await parseDialArgs(["*384#", "--url", "not a url", "--secret", secret], {})).toMatchObject({ ok: false, message: "bad --url: not a url" });
  });

  it("explains what is wrong", async () => {
    expect(await parseDialArgs([], {})).toMatchObject({ ok: false, usage: true });
    expect(await parseDialArgs(["*384#", "--bogus"], {})).toMatchObject({ ok: false, usage: true });
    expect(await parseDialArgs(["*384#", "--msisdn", "0700000001", "--secret", "x".repeat(20)], {})).toMatchObject({ ok: false, message: expect.stringContaining("E.164") });
    const none = await parseDialArgs(["*384#"], { FINGATE_DATA_DIR: "/nonexistent/fingate-data" });
    expect(none).toMatchObject({ ok: false, message: expect.stringContaining("/nonexistent/fingate-data/demo-ussd-secret") });
  });
});

const OPTIONS: DialOptions = {
  serviceCode: "*384#",
  initialText: "",
  msisdn: "+254700000001",
  url: "http://gateway.test/ussd/at",
  secret: "s".repeat(20),
  aggregator: "at",
  networkCode: "63902",
};

/** A gateway answering from a script, recording every form it was posted. */
function fakeGateway(replies: string[]) {
  const calls: { url: string; form: Record<string, string>; secret: string | null }[] = [];
  const fetchFake = (async (url: string | URL | Request, init?: RequestInit) => {
    const form = Object.fromEntries(new URLSearchParams(String(init?.body)));
    calls.push({ url: String(url), form, secret: new Headers(init?.headers).get("x-fingate-secret") });
    if (String(url).endsWith("/events")) return new Response("OK");
    return new Response(replies.shift() ?? "END out of script");
  }) as typeof fetch;
  return { calls, fetch: fetchFake };
}

async function dial(options: DialOptions, replies: string[], inputs: string) {
  const gateway = fakeGateway(replies);
  const output = new PassThrough();
  const errors = new PassThrough();
  let out = "";
  let err = "";
  output.on("data", (c: Buffer) => (out += c.toString()));
  errors.on("data", (c: Buffer) => (err += c.toString()));
  const code = await runDial(options, {
    input: Readable.from([inputs]),
    output,
    errors,
    interactive: false,
    fetch: gateway.fetch,
    newSessionId: () => "ATUid_test",
  });
  return { code, out, err, calls: gateway.calls };
}

describe("runDial", () => {
  it("sends every input so far joined by *, prints each screen and stops on END", async () => {
    const r = await dial(OPTIONS, ["CON Menu\n1. Balance", "CON Enter your PIN:", "END Your balance is KES 5.00."], "1\n4827\nnever read\n");
    expect(r.code).toBe(0);
    expect(r.calls.map((c) => c.form.text)).toEqual(["", "1", "1*4827"]);
    for (const c of r.calls) {
      expect(c.url).toBe("http://gateway.test/ussd/at");
      expect(c.secret).toBe("s".repeat(20));
      expect(c.form).toMatchObject({ sessionId: "ATUid_test", serviceCode: "*384#", phoneNumber: "+254700000001", networkCode: "63902" });
    }
    expect(r.out).toContain("Menu\n1. Balance\n> 1\n");
    expect(r.out).toContain("Enter your PIN:\n> ****\n");
    expect(containsPin(r.out, "4827")).toBe(false);
    expect(r.out).toContain("Your balance is KES 5.00.\n\n[session ended]\n");
  });

  it("on a terminal, echoes what is typed on a PIN screen as * and keeps other answers visible", async () => {
    const gateway = fakeGateway(["CON Menu\n1. Balance", "CON Enter your PIN:", "END Your balance is KES 5.00."]);
    const input = new PassThrough();
    const output = new PassThrough();
    let out = "";
    // Keys are typed once the screen asking for them is shown, as on a terminal.
    const typed = ["17\r", "4827\r"];
    output.on("data", (c: Buffer) => {
      out += c.toString();
      if (out.endsWith("> ") && typed.length > 0) setImmediate(() => input.write(typed.shift()!));
    });
    const code = await runDial(OPTIONS, { input, output, errors: new PassThrough(), interactive: true, fetch: gateway.fetch, newSessionId: () => "ATUid_tty" });
    expect(code).toBe(0);
    expect(gateway.calls.map((c) => c.form.text)).toEqual(["", "17", "17*4827"]);
    expect(out).toContain("17"); // the menu answer is echoed as typed
    expect(containsPin(out, "4827")).toBe(false);
    expect(out).toContain("****");
  });

  it("passes a shortcut as the first text, then appends to it", async () => {
    const r = await dial({ ...OPTIONS, initialText: "2*0712345678" }, ["CON Amount:", "END Done."], "500\n");
    expect(r.calls.map((c) => c.form.text)).toEqual(["2*0712345678", "2*0712345678*500"]);
    expect(r.code).toBe(0);
  });

  it("hangs up with the end-of-session notification when the input runs out", async () => {
    const r = await dial(OPTIONS, ["CON Menu"], "");
    expect(r.code).toBe(1);
    expect(r.err).toContain("input ended");
    expect(r.calls.at(-1)).toMatchObject({ url: "http://gateway.test/ussd/at/events", form: { sessionId: "ATUid_test", status: "Incomplete" } });
  });

  it("reports a refused secret and a reply that is not Africa's Talking", async () => {
    const bad = (async () => new Response("no", { status: 401 })) as typeof fetch;
    const sink = new PassThrough();
    let err = "";
    const errors = new PassThrough().on("data", (c: Buffer) => (err += c.toString()));
    expect(await runDial(OPTIONS, { input: Readable.from([""]), output: sink, errors, interactive: false, fetch: bad })).toBe(1);
    expect(err).toContain("refused the secret");
    const r = await dial(OPTIONS, ["<html>oops</html>"], "");
    expect(r.code).toBe(1);
    expect(r.err).toContain("expected CON or END");
  });
});

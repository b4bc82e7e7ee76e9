// "Trying it without a telco", end to end: the gateway starts on a fresh embedded (PGlite) data
// directory, seeds the demo and turns USSD on; `fingate dial` runs as a child process with its
// answers piped in, checks a balance and sends money, and the demo agent serves the demo customers
// (cash-in, a cash-out approved on the customer's next dial, a withdrawal); the ledger agrees.
import { spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { DEMO } from "../../src/demo/seed.js";
import { readDemoSecret } from "../../src/demo/secret.js";
import { createLogger } from "../../src/infra/log.js";
import { buildGateway, type Gateway } from "../../src/main.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const [JANE, OTIENO] = DEMO.customers;
const AGENT = DEMO.agent;

let dataDir: string;
let gateway: Gateway;
let server: Server;
let url: string;
let logs = "";

beforeAll(async () => {
  for (const name of ["FINGATE_DEMO", "FINGATE_USSD_AT_SECRET", "FINGATE_USSD_AGGREGATORS", "FINGATE_USSD_INSTITUTION_ID", "DATABASE_URL"]) delete process.env[name];
  dataDir = await mkdtemp(path.join(tmpdir(), "fingate-demo-"));
  const sink = new Writable({ write: (chunk: Buffer, _enc, done) => void ((logs += chunk.toString()), done()) });
  const config = loadConfig({ FINGATE_DATA_DIR: dataDir, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info" });
  gateway = await buildGateway(config, createLogger("info", sink));
  server = gateway.app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  gateway.demo?.announce(port);
  url = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await gateway?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** `fingate dial` as a user runs it, with one answer per stdin line. */
function dial(args: string[], inputs: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, "bin/fingate.mjs"), "dial", ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, FINGATE_DATA_DIR: dataDir, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out, err }));
    child.stdin.end(inputs.map((line) => `${line}\n`).join(""));
  });
}

/** The PIN as typed: not merely four digits inside a timestamp, an id or a reference. */
const typed = (pin: string) => new RegExp(`(?<![0-9A-Za-z])${pin}(?![0-9A-Za-z])`);

async function balanceOf(msisdn: string): Promise<bigint> {
  const customer = await gateway.services.directory.findCustomerByMsisdn(msisdn);
  if (!customer.ok) throw new Error(customer.code);
  const account = await gateway.ledger.getAccount(customer.value.walletAccountId);
  return account!.creditsPosted - account!.debitsPosted - account!.debitsPending;
}

describe("the demo on embedded defaults", () => {
  it("seeds funded wallets and turns USSD on with a secret kept in the data directory", async () => {
    expect(gateway.demo).toMatchObject({ status: "seeded" });
    expect(await balanceOf(JANE.msisdn)).toBe(500_000n);
    expect(await balanceOf(OTIENO.msisdn)).toBe(100_000n);
    const secret = await readDemoSecret(dataDir);
    expect(secret?.length).toBeGreaterThanOrEqual(16);
    expect((await stat(path.join(dataDir, "demo-ussd-secret"))).mode & 0o777).toBe(0o600);
    expect(logs).toContain(`npm run -s fingate -- dial '*384#' --msisdn ${JANE.msisdn} --url ${url}`);
    expect(logs).not.toContain(secret!);
  });

  it("checks a balance with the PIN from a terminal phone", async () => {
    const r = await dial(["*384#", "--msisdn", JANE.msisdn, "--url", url], ["1", JANE.pin]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain("Welcome to fingate\n1. Balance\n2. Send money");
    expect(r.out).toContain("Enter your PIN:\n> ****\n");
    expect(r.out).toContain("Your balance is KES 5,000.00.");
    expect(r.out).toContain("[session ended]");
    expect(r.out).not.toMatch(typed(JANE.pin));
  });

  it("sends money to the other demo customer, fee included, and the ledger agrees", async () => {
    const r = await dial(["*384#", "--msisdn", JANE.msisdn, "--url", url], ["2", "0700000002", "150", "1", JANE.pin]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("Pay OTIENO K***. Enter the amount in KES:");
    expect(r.out).toContain("Send KES 150.00 to OTIENO K***?\nFee KES 7.00. Total KES 157.00.");
    expect(r.out).toMatch(/Sent KES 150\.00 to OTIENO K\*\*\*\. Ref [0-9A-F]+\./);
    expect(await balanceOf(JANE.msisdn)).toBe(500_000n - 15_000n - 700n);
    expect(await balanceOf(OTIENO.msisdn)).toBe(100_000n + 15_000n);

    const otieno = await dial(["*384#", "--msisdn", OTIENO.msisdn, "--url", url], ["1", OTIENO.pin]);
    expect(otieno.out).toContain("Your balance is KES 1,150.00.");
  });

  it("the demo agent pays cash in for Otieno, and cashes out for Jane once she approves on her phone", async () => {
    const jane = await balanceOf(JANE.msisdn);
    const cashIn = await dial(["*384#", "--msisdn", AGENT.msisdn, "--url", url], ["1", "0700000002", "300", AGENT.pin]);
    expect(cashIn.out).toContain("Agent menu\n1. Cash-in (deposit)");
    expect(cashIn.out).toMatch(/Deposited KES 300\.00 for OTIENO K\*\*\*\. Ref [0-9A-F]{10}\./);
    expect(await balanceOf(OTIENO.msisdn)).toBe(100_000n + 15_000n + 30_000n);
    const cashOut = await dial(["*384#", "--msisdn", AGENT.msisdn, "--url", url], ["2", "0700000001", "500", AGENT.pin]);
    expect(cashOut.out).toContain("Cash-out KES 500.00 for JANE W***?\nCustomer fee KES 10.00.");
    expect(cashOut.out).toContain("JANE W*** must approve KES 500.00 on their phone.");
    const approve = await dial(["*384#", "--msisdn", JANE.msisdn, "--url", url], ["1", JANE.pin]);
    expect(approve.out).toContain("Agent AMANI S*** (store 500100) asks to pay you KES 500.00 in cash from your wallet.");
    expect(approve.out).toMatch(/Approved\. Collect KES 500\.00 in cash from AMANI S\*\*\*\./);
    expect(await balanceOf(JANE.msisdn)).toBe(jane - 51_000n);
    for (const r of [cashIn, cashOut]) expect(r.out).not.toMatch(typed(AGENT.pin));
  });

  it("Jane withdraws cash at the demo agent by its number and store number", async () => {
    const jane = await balanceOf(JANE.msisdn);
    const r = await dial(["*384#", "--msisdn", JANE.msisdn, "--url", url], ["4", "0700000003", AGENT.storeNumber, "200", JANE.pin]);
    expect(r.out).toContain("Withdraw KES 200.00 at AMANI S***, store 500100? Fee KES 10.00. Total KES 210.00.");
    expect(r.out).toMatch(/Withdrew KES 200\.00 at AMANI S\*\*\*, fee KES 10\.00\./);
    expect(await balanceOf(JANE.msisdn)).toBe(jane - 21_000n);
    const agent = await gateway.services.agents.findByMsisdn(AGENT.msisdn, gateway.demo!.institutionId);
    const float = await gateway.services.agents.floatBalance(agent!.id);
    expect(float.ok && float.balanceMinor).toBe(AGENT.floatMinor - 30_000n + 50_000n + 20_000n);
  });

  it("keeps PINs out of the gateway's log", () => {
    expect(logs).toContain('"msg":"ussd hop"');
    for (const c of DEMO.customers) expect(logs).not.toMatch(typed(c.pin));
    expect(logs).not.toMatch(typed(AGENT.pin));
  });

  it("says what is wrong when the secret is refused or nothing listens", async () => {
    const refused = await dial(["*384#", "--url", url, "--secret", "not-the-demo-secret-at-all"], []);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("refused the secret");
    const nobody = await dial(["*384#", "--url", "http://127.0.0.1:9"], []);
    expect(nobody.code).toBe(1);
    expect(nobody.err).toContain("cannot reach the gateway");
  });
});

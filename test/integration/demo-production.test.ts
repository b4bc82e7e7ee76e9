// The Docker image runs with NODE_ENV=production and, without DATABASE_URL, on embedded PGlite.
// There the demo bank (wallets whose PINs README publishes, USSD on with a generated secret) is
// seeded only when FINGATE_DEMO=1 asks for it, and start-up says which.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import request from "supertest";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { demoApplies } from "../../src/demo/setup.js";
import { createLogger } from "../../src/infra/log.js";
import { buildGateway } from "../../src/main.js";

const ENV_NAMES = ["FINGATE_DEMO", "FINGATE_USSD_AT_SECRET", "FINGATE_USSD_AGGREGATORS", "FINGATE_USSD_INSTITUTION_ID", "FINGATE_USSD_SECRET_KEY", "FINGATE_SMS_SECRET_KEY"];
const saved = new Map(ENV_NAMES.map((name) => [name, process.env[name]]));
const dirs: string[] = [];

beforeAll(() => {
  for (const name of ENV_NAMES) delete process.env[name];
  // What production requires (NODE_ENV=production refuses to start without them).
  process.env.FINGATE_USSD_SECRET_KEY = randomBytes(32).toString("hex");
  process.env.FINGATE_SMS_SECRET_KEY = randomBytes(32).toString("hex");
});
afterEach(() => {
  delete process.env.FINGATE_DEMO;
});
afterAll(async () => {
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** A logger whose lines the test reads. */
function capturedLogger() {
  const lines: Array<{ level: number; msg: string }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line.trim()) lines.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  return { logger: createLogger("info", sink), lines };
}

async function productionOnEmbedded() {
  const dataDir = await mkdtemp(path.join(tmpdir(), "fingate-prod-demo-"));
  dirs.push(dataDir);
  const config = loadConfig({ NODE_ENV: "production", FINGATE_DATA_DIR: dataDir, FINGATE_PIN_KEY: randomBytes(32).toString("hex"), LOG_LEVEL: "info" });
  const { logger, lines } = capturedLogger();
  return { gateway: await buildGateway(config, logger), lines };
}

describe("the demo with NODE_ENV=production on the embedded database", () => {
  it("is not seeded unless FINGATE_DEMO=1, and start-up says so", async () => {
    const { gateway, lines } = await productionOnEmbedded();
    try {
      expect(gateway.demo).toBeNull();
      const institutions = await gateway.db.query<{ n: number }>("SELECT count(*)::int AS n FROM institutions");
      expect(institutions.rows[0]!.n).toBe(0);
      // No USSD channel with a generated secret either.
      expect((await request(gateway.app).post("/ussd/at").type("form").send({})).status).toBe(404);
      expect(lines.some((l) => /demo/.test(l.msg) && /NODE_ENV=production/.test(l.msg) && /FINGATE_DEMO=1/.test(l.msg))).toBe(true);
    } finally {
      await gateway.close();
    }
  });

  it("is seeded with FINGATE_DEMO=1, with a warning that its PINs are published", async () => {
    process.env.FINGATE_DEMO = "1";
    const { gateway, lines } = await productionOnEmbedded();
    try {
      expect(gateway.demo).toMatchObject({ status: "seeded" });
      expect(lines.some((l) => l.level === 40 && /demo/.test(l.msg) && /PINs/.test(l.msg))).toBe(true);
    } finally {
      await gateway.close();
    }
  });

  it("still applies on embedded defaults outside production (npm start), and never on PostgreSQL by default", () => {
    expect(demoApplies({ databaseUrl: undefined, production: false }, {})).toBe(true);
    expect(demoApplies({ databaseUrl: undefined, production: true }, {})).toBe(false);
    expect(demoApplies({ databaseUrl: undefined, production: true }, { FINGATE_DEMO: "1" })).toBe(true);
    expect(demoApplies({ databaseUrl: "postgresql://x", production: false }, {})).toBe(false);
  });
});

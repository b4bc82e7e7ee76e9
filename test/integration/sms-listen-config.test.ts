// FINGATE_SMPP_LISTEN turns on the listener telcos bind to. Read like FINGATE_DEMO: "true" used to
// mean off, without a word, and no telco could bind.
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Ledger } from "../../src/core/ledger/ledger.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { buildServices, type CoreServices } from "../../src/services.js";
import { buildSmsGateway } from "../../src/sms/gateway.js";
import { openTestDb, type TestDb } from "../helpers/db.js";

let test: TestDb;
let ledger: Ledger;
let services: CoreServices;
beforeAll(async () => {
  test = await openTestDb("postgres");
  ledger = new Ledger(new SqlLedgerStore(test.db));
  services = buildServices(test.db, ledger, { schema: test.schema, pinKey: randomBytes(32) });
});
afterAll(async () => {
  await ledger?.close();
  await services?.close();
  await test?.cleanup();
});

const silent = { info() {}, warn() {}, error() {} };
const build = (listen: string) =>
  buildSmsGateway({
    db: test.db,
    services,
    ledger,
    logger: silent,
    secretKey: randomBytes(32),
    env: { FINGATE_SMPP_LISTEN: listen, FINGATE_SMPP_PORT: "0", FINGATE_SMPP_HOST: "127.0.0.1" },
  });

describe("FINGATE_SMPP_LISTEN", () => {
  it("true, yes and on listen as 1 does: a telco can connect", async () => {
    for (const on of ["1", "true", "yes", "ON"]) {
      const sms = await build(on);
      try {
        expect(sms.smppPort, on).toEqual(expect.any(Number));
        await new Promise<void>((resolve, reject) => {
          const socket = connect(sms.smppPort!, "127.0.0.1", () => socket.end(resolve)).once("error", reject);
        });
      } finally {
        await sms.close();
      }
    }
  });

  it("0, false and unset leave it off; anything else stops the start", async () => {
    for (const off of ["", "0", "false"]) {
      const sms = await build(off);
      expect(sms.smppPort, off).toBeNull();
      await sms.close();
    }
    await expect(build("enabled")).rejects.toThrow('FINGATE_SMPP_LISTEN must be on (1, true, on, yes) or off (0, false, off, no), got "enabled"');
  });
});

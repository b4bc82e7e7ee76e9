/**
 * The listener's bind guard over real sockets: an address that keeps failing is refused without a
 * password check, even with the right password, and the refusal never says which ids exist.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashLinkPassword } from "../../src/sms/links/secrets.js";
import type { LinkConfig } from "../../src/sms/links/types.js";
import { SmppListener, type ServerAccount } from "../../src/sms/server/smpp-listener.js";
import { ESME_RBINDFAIL, ESME_RINVPASWD, ESME_ROK } from "../../src/sms/smpp-status.js";
import { TestTelco } from "../helpers/smpp-telco.js";

const logs: string[] = [];
const logger = { info: (o: object, m: string) => void logs.push(`${m} ${JSON.stringify(o)}`), warn: (o: object, m: string) => void logs.push(`${m} ${JSON.stringify(o)}`) };
let listener: SmppListener;
let port: number;
const telcos: TestTelco[] = [];

const link: LinkConfig = {
  id: "guarded", mode: "server", institutionId: "00000000-0000-4000-8000-000000000001", enabled: true, systemId: "guarded", systemType: "",
  host: null, port: null, maxBinds: 4, throughputPerS: null, shortCodes: ["22555"], msisdnPrefixes: [], ipAllowList: [], ussd: null,
  createdAt: new Date(), updatedAt: new Date(),
};

async function bind(systemId: string, password: string): Promise<number> {
  const t = await TestTelco.connect(port);
  telcos.push(t);
  return t.bind(systemId, password);
}

beforeAll(async () => {
  const account: ServerAccount = { link, passwordHash: await hashLinkPassword("secret1") };
  listener = new SmppListener({
    account: (id) => (id === "guarded" ? account : null),
    onInbound: async () => ({ status: ESME_ROK }),
    logger,
    bindGuard: { maxFailures: 3, windowMs: 60_000 },
  });
  port = await listener.listen(0, "127.0.0.1");
});

afterAll(async () => {
  for (const t of telcos) await t.close();
  await listener?.close();
});

describe("the bind guard", () => {
  it("refuses an address that failed three times, unchecked, even with the right password", async () => {
    expect(await bind("guarded", "secret1")).toBe(ESME_ROK);
    expect(await bind("guarded", "wrong01")).toBe(ESME_RINVPASWD);
    expect(await bind("nobody", "secret1")).toBe(ESME_RINVPASWD);
    expect(await bind("guarded", "wrong02")).toBe(ESME_RINVPASWD);
    expect(await bind("guarded", "secret1")).toBe(ESME_RBINDFAIL);
    expect(logs.some((l) => l.includes("refused unchecked"))).toBe(true);
    expect(logs.join("\n")).not.toMatch(/secret1|wrong0/);
  });
});

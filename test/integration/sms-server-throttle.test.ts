/**
 * Flow control on a server link: the telco bound to our listener answers our deliver_sm with
 * ESME_RTHROTTLED / ESME_RMSGQFUL. The outbound pipeline (outbox in PostgreSQL → relay → sender →
 * ServerLink) must pause and send the message again without using up its outbox attempts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertOutboxNotices } from "../../src/infra/db/outbox-store.js";
import { ESME_RMSGQFUL, ESME_ROK, ESME_RTHROTTLED } from "../../src/sms/smpp-status.js";
import { openSmsEnv, type SmsEnv } from "../helpers/sms-env.js";
import { waitFor } from "../helpers/sms-outbox-rig.js";
import { TestTelco, textOf } from "../helpers/smpp-telco.js";

let env: SmsEnv;
const telcos: TestTelco[] = [];

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-server-throttle" });
  await env.addServerLink("throttling", { maxBinds: 2 });
});

afterAll(async () => {
  for (const t of telcos) await t.close();
  await env?.close();
});

describe("MT over a server link whose telco throttles", () => {
  it("pauses, sends again after the pause and uses up no outbox attempt", async () => {
    const t = await TestTelco.connect(env.port);
    telcos.push(t);
    expect(await t.bind("throttling", "Secret1!")).toBe(ESME_ROK);
    const refusals = [ESME_RTHROTTLED, ESME_RMSGQFUL, ESME_RTHROTTLED];
    t.deliverStatus = () => refusals.shift() ?? ESME_ROK;
    const [id] = await env.test.db.transaction((tx) =>
      insertOutboxNotices(tx, [{ msisdn: "+254700000001", template: "notice.pin_changed", params: {}, kind: "notice" }]),
    );
    const pdu = await t.nextDeliver();
    expect(textOf(pdu)).toBe("Your PIN was changed. If you did not do this, contact your bank at once.");
    await waitFor(async () => (await env.outbound.store.get(id!))?.state === "submitted", "the message submitted", 10_000);
    // Before the fix each throttle failed the send as retryable: attempts 4 here (and dead, with
    // the message never sent, after FINGATE_SMS_OUTBOX_ATTEMPTS throttles).
    expect(await env.outbound.store.get(id!)).toMatchObject({ state: "submitted", attempts: 1, lastError: null });
    expect(t.deliverLog.map((d) => d.status)).toEqual([ESME_RTHROTTLED, ESME_RMSGQFUL, ESME_RTHROTTLED, ESME_ROK]);
    // The pauses grow (200, 400, 800 ms less up to 30 % jitter), as on the client link.
    const gaps = t.deliverLog.slice(1).map((d, i) => d.at - t.deliverLog[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(135);
    expect(gaps[1]).toBeGreaterThanOrEqual(275);
    expect(gaps[2]).toBeGreaterThanOrEqual(555);
    expect(t.pending()).toBe(0);
  });
});

/**
 * FINGATE_PIN_SEEN_SUBJECTS reaches the PIN service that buildServices makes: with its default a
 * subject's second verify in the process is written in one statement (no count first); with 0
 * every verify counts its attempt first. The two paths' equivalence is tested in auth-pin.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { Ledger } from "../../src/core/ledger/ledger.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { SqlPinStore } from "../../src/infra/db/pin-store.js";
import { isRetryableSqlError } from "../../src/infra/db/sql.js";
import { buildServices, type CoreServices } from "../../src/services.js";
import { openKenyanInstitution, registerWithPin } from "../helpers/core-setup.js";
import { openTestDb, type TestDb } from "../helpers/db.js";

describe("the one-write PIN verify as configured", () => {
  let test: TestDb;
  let ledger: Ledger;
  const opened: CoreServices[] = [];
  let institutionId: string;

  beforeAll(async () => {
    test = await openTestDb("postgres");
    ledger = new Ledger(new SqlLedgerStore(test.db), { isRetryable: isRetryableSqlError });
    const setup = buildServices(test.db, ledger, { schema: test.schema });
    opened.push(setup);
    ({ institutionId } = await openKenyanInstitution(test.db, setup, ledger, "seen-ke", "Seen KE"));
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  afterAll(async () => {
    await ledger.close();
    for (const s of opened) await s.close();
    await test.cleanup();
  });

  /** Counts taken first by two right verifies of one new customer, through services built with `pinSeenSubjects`. */
  async function countsOfTwoVerifies(msisdn: string, pinSeenSubjects: number | undefined): Promise<number> {
    const services = buildServices(test.db, ledger, { schema: test.schema, pinSeenSubjects });
    opened.push(services);
    const customer = await registerWithPin(services, institutionId, { msisdn, name: "Amina Odhiambo", pin: "4827" });
    const counts = vi.spyOn(SqlPinStore.prototype, "countAttempt");
    for (let i = 0; i < 2; i += 1) {
      const result = await services.pins.verifyPin({ actor: { type: "customer", id: customer.id }, channel: "ussd", subjectId: customer.id, pin: "4827" });
      expect(result).toEqual({ ok: true });
    }
    return counts.mock.calls.length;
  }

  it("by default counts first only for a subject this process has not seen yet", async () => {
    expect(await countsOfTwoVerifies("0712345680", undefined)).toBe(1);
  });

  it("with 0 counts first on every verify", async () => {
    expect(await countsOfTwoVerifies("0712345681", 0)).toBe(2);
  });
});

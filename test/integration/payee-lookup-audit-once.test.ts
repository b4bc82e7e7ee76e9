/**
 * One lookup of a blocked or closed payee, one audit entry (directory.payee.lookup): every entry
 * point a payer or an agent reaches before its PIN resolves the payee once per call, the payments
 * service's early lookup (started beside the payer's read when the caller hints the institution)
 * included: it is awaited instead of the second lookup, never beside it. A payment flow that
 * quotes and then sends to a payee blocked in between writes one entry, at the send (the quote
 * found them payable). Real PostgreSQL, through the services.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Customer } from "../../src/core/directory/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { SYSTEM, openKenyanInstitution, registerWithPin } from "../helpers/core-setup.js";
import { AGENT_PIN, openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

describe("a blocked payee's lookup is audited once per call (postgres)", () => {
  let w: AgentsWorld;
  let payer: Customer;
  let blocked: Customer;
  const bank = () => ({ actorType: "bank_user" as const, actorId: "apikey:test", channel: "admin" as const, institutionId: w.institutionId });

  beforeAll(async () => {
    w = await openAgentsWorld("lookup-once");
    payer = await w.register("0712935001", "Ruth Wairimu", "2857");
    blocked = await w.register("0712935002", "Tom Kiprono", "4827");
    await w.fund(payer.walletAccountId, 50_000n);
    expect((await w.services.directory.claimAlias(SYSTEM, blocked.id, "tom.kip")).ok).toBe(true);
    expect((await w.services.directory.setStatus(bank(), blocked.id, "blocked")).ok).toBe(true);
  });
  afterAll(async () => {
    await w?.close();
  });

  const entries = async (subject: string) =>
    (await w.test.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE action = 'directory.payee.lookup' AND subject = $1", [subject])).rows[0]!.n;
  /** The entries `call` added about `subject`. */
  async function added(subject: string, call: () => Promise<unknown>): Promise<number> {
    const before = await entries(subject);
    await call();
    return (await entries(subject)) - before;
  }

  it("each entry point, by number and by pseudonym, hinted or not", async () => {
    const { payments, agents } = w.services;
    const hints = { payerInstitutionId: w.institutionId, payerWalletAccountId: payer.walletAccountId };
    const agent = await w.newAgent();
    for (const payee of [blocked.msisdn, "0712935002", "tom.kip"]) {
      const calls: Record<string, () => Promise<unknown>> = {
        quote: () => payments.quoteP2P({ payerCustomerId: payer.id, payee, amountMinor: 1_000n, channel: "ussd" }),
        "quote, hinted": () => payments.quoteP2P({ payerCustomerId: payer.id, payee, amountMinor: 1_000n, channel: "ussd", ...hints }),
        send: () => payments.sendP2P({ payerCustomerId: payer.id, payee, amountMinor: 1_000n, channel: "sms", paymentId: uuidv7(), pin: "2857" }),
        "send, hinted": () =>
          payments.sendP2P({ payerCustomerId: payer.id, payerInstitutionId: w.institutionId, payerMsisdn: payer.msisdn, payee, amountMinor: 1_000n, channel: "ussd", paymentId: uuidv7(), pin: "2857" }),
        "agent lookup": () => agents.lookupCustomer(agent.id, payee),
        "cash-in quote": () => agents.quoteCashIn(agent.id, payee, 1_000n),
        "cash-in": () => agents.cashIn({ id: uuidv7(), agentId: agent.id, customerQuery: payee, amountMinor: 1_000n, agentPin: AGENT_PIN, channel: "agent" }),
        "cash-out request": () => w.askCashOut(agent.id, payee, 1_000n),
      };
      for (const [name, call] of Object.entries(calls)) expect(await added(blocked.id, call), `${name}: ${payee}`).toBe(1);
    }
  });

  it("a lookup whose answer nobody gets writes nothing: an early lookup under a hint naming another institution, or for a payer refused", async () => {
    const other = await openKenyanInstitution(w.test.db, w.services, w.ledger, "lookup-once-other", "Other KE");
    const theirs = await registerWithPin(w.services, other.institutionId, { msisdn: "0712935010", name: "Vera Njoki", pin: "6173" });
    expect((await w.services.directory.claimAlias(SYSTEM, theirs.id, "vera.nj")).ok).toBe(true);
    expect((await w.services.directory.setStatus({ ...bank(), institutionId: other.institutionId }, theirs.id, "blocked")).ok).toBe(true);
    const { payments } = w.services;
    // The payer banks with w's institution: the hint is stale, the early lookup (in the other) unused.
    for (const payee of ["vera.nj", theirs.msisdn]) {
      const stale = { payerCustomerId: payer.id, payee, amountMinor: 1_000n, channel: "ussd" as const, payerInstitutionId: other.institutionId };
      expect(await added(theirs.id, async () => expect(await payments.quoteP2P(stale)).toEqual({ ok: false, code: "payee_not_found" })), payee).toBe(0);
    }
    // Nor later: an unused lookup's write would land after the answer.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await entries(theirs.id)).toBe(0);
    // A payer refused (unknown, or blocked) hears that, not the payee's answer.
    const hinted = { payee: blocked.msisdn, amountMinor: 1_000n, channel: "ussd" as const, payerInstitutionId: w.institutionId };
    expect(await added(blocked.id, () => payments.quoteP2P({ ...hinted, payerCustomerId: uuidv7() }))).toBe(0);
    const refusedPayer = await w.register("0712935011", "Wanza Payer", "3391");
    expect((await w.services.directory.setStatus(bank(), refusedPayer.id, "blocked")).ok).toBe(true);
    expect(await added(blocked.id, async () => expect(await payments.quoteP2P({ ...hinted, payerCustomerId: refusedPayer.id })).toEqual({ ok: false, code: "payer_unavailable" }))).toBe(0);
  });

  it("a quote and then a send to a payee blocked in between: one entry, the send's", async () => {
    const payee = await w.register("0712935003", "Una Moraa", "5831");
    const request = { payerCustomerId: payer.id, payee: payee.msisdn, amountMinor: 1_000n, channel: "ussd" as const, payerInstitutionId: w.institutionId };
    expect(await added(payee.id, () => w.services.payments.quoteP2P(request))).toBe(0);
    expect((await w.services.directory.setStatus(bank(), payee.id, "blocked")).ok).toBe(true);
    const sent = { ...request, payerMsisdn: payer.msisdn, paymentId: uuidv7(), pin: "2857" };
    expect(await added(payee.id, async () => expect(await w.services.payments.sendP2P(sent)).toEqual({ ok: false, code: "payee_not_found" }))).toBe(1);
  });
});

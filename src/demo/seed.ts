/**
 * Demo data for trying fingate without a bank or a telco: one institution, two customers with
 * PINs and funded wallets, an agent with a PIN and a funded float, p2p and cash-out fee schedules
 * and a demo telco with a tariff plan. README lists every value below; change both together.
 *
 * Seeding runs only on an empty database and never twice. It is resumable: every step first looks
 * for what it would create (by institution code, phone number, network code, derived request id),
 * so a start-up interrupted halfway finishes the job on the next start. An audit entry with action
 * `demo.seed` marks a completed seed.
 *
 * Instances starting at once on one PostgreSQL schema (FINGATE_DEMO=1) seed one at a time under an
 * advisory lock: each step's look-then-create is not atomic, so two seeding together both wrote
 * the `demo.seed` mark, sometimes two tariff plans, and left the loser's wallets and float
 * accounts behind. The instance that waited finds the seed done. PGlite needs no lock: one process
 * at a time opens its data directory (data-dir-lock.ts).
 */
import { DEFAULT_LIMIT_UNIT_MINOR } from "../core/limits/security-levels.js";
import type { Agents } from "../core/agents/agents.js";
import type { Agent } from "../core/agents/types.js";
import type { AuditEntryInput } from "../core/audit/audit-entry.js";
import type { Directory } from "../core/directory/directory.js";
import type { ActionContext, Customer } from "../core/directory/types.js";
import type { PinService } from "../core/auth/pin-service.js";
import type { FeeBand, FeeSchedule } from "../core/fees/types.js";
import { scheduleProblems } from "../core/fees/bands.js";
import { institutionAccounts } from "../core/institutions/institutions.js";
import { ensureSystemAccount } from "../core/institutions/system-accounts.js";
import type { Institution } from "../core/institutions/types.js";
import { derivedUuid, uuidv7 } from "../core/ledger/ids.js";
import type { Ledger } from "../core/ledger/ledger.js";
import { termsProblems } from "../core/tariffs/plans.js";
import type { TariffPlan, TariffTerms, Telco } from "../core/tariffs/types.js";
import { SqlAuditLog } from "../infra/db/audit-store.js";
import type { SqlFeeScheduleStore } from "../infra/db/fee-store.js";
import { SqlInstitutionStore } from "../infra/db/institution-store.js";
import { AdvisoryLockTimeout, PostgresDb, type SqlDb } from "../infra/db/sql.js";
import { SqlTariffStore } from "../infra/db/tariff-store.js";

const U = 100n; // minor units per shilling

/** The demo's fixed data. PINs are here (and in README) on purpose: they only open demo wallets. */
export const DEMO = {
  institution: { code: "demo-ke", name: "Demo Bank Kenya", currency: "KES", timezone: "Africa/Nairobi", language: "en", country: "KE" },
  customers: [
    // PINs pass the weak-PIN rules (2580 and 1470 are on the common-PIN list, so they would not).
    { msisdn: "+254700000001", displayName: "Jane Wanjiru", pin: "4827", openingMinor: 5_000n * U },
    { msisdn: "+254700000002", displayName: "Otieno Kamau", pin: "5903", openingMinor: 1_000n * U },
  ],
  /** A business correspondent: Jane and Otieno withdraw cash here (agent number and store number). */
  agent: {
    msisdn: "+254700000003",
    storeNumber: "500100",
    name: "Amani Shop",
    location: "Kawangware, Nairobi",
    pin: "6253",
    floatMinor: 20_000n * U,
  },
  /** What a customer pays to take cash out at an agent; the agent earns half of it. Cash-in is free. */
  cashOutFees: [
    { minMinor: 1n, maxMinor: 500n * U, feeMinor: 10n * U },
    { minMinor: 500n * U + 1n, maxMinor: 2_500n * U, feeMinor: 25n * U },
    { minMinor: 2_500n * U + 1n, maxMinor: 70_000n * U, feeMinor: 50n * U },
  ] satisfies FeeBand[],
  cashOutAgentShareBps: 5_000,
  /** Free up to KES 100, then a few shillings per band. */
  p2pFees: [
    { minMinor: 1n, maxMinor: 100n * U, feeMinor: 0n },
    { minMinor: 100n * U + 1n, maxMinor: 500n * U, feeMinor: 7n * U },
    { minMinor: 500n * U + 1n, maxMinor: 1_000n * U, feeMinor: 13n * U },
    { minMinor: 1_000n * U + 1n, maxMinor: 1_000_000n * U, feeMinor: 25n * U },
  ] satisfies FeeBand[],
  telco: { code: "demo-telco-ke", name: "Demo Telco KE", networkCode: "63902" },
  /** KES 1 per session plus KES 0.50 per stage, at most KES 5, paid by the bank (balances stay as listed). */
  tariff: {
    name: "Demo USSD tariff",
    currency: "KES",
    perSessionMinor: 100n,
    perStageMinor: 50n,
    ceilingMinor: 500n,
    maxStages: 12,
    payer: "bank",
  } satisfies Omit<TariffTerms, "effectiveFrom">,
  serviceCode: "*384#",
} as const;

/** The audit action that marks a finished seed. */
export const DEMO_SEED_ACTION = "demo.seed";
const ACTOR = { actorType: "system", actorId: "demo-seed", channel: "system" } as const;
const CTX: ActionContext = { ...ACTOR };

export interface SeedDeps {
  db: SqlDb;
  ledger: Ledger;
  services: { directory: Directory; pins: PinService; fees: SqlFeeScheduleStore; agents?: Pick<Agents, "onboard" | "findByMsisdn" | "topUpFloat"> };
  now?: () => Date;
  /** How long to wait for another instance's seed (PostgreSQL) before giving up (FINGATE_DEMO_SEED_WAIT_MS). */
  lockWaitMs?: number;
}

/** Past FINGATE_DEMO_SEED_WAIT_MS a start waiting on another instance's seed gives up rather than hang. */
export const DEFAULT_SEED_WAIT_MS = 60_000;

export type SeedOutcome =
  /** Seeded now. */
  | { status: "seeded"; institutionId: string }
  /** Seeded by an earlier start. */
  | { status: "already_seeded"; institutionId: string }
  /** The database holds other data: nothing was done. */
  | { status: "not_empty" };

/** Any constant works; it only has to be the same for every fingate process (migrate.ts has 7_384_384). */
export const DEMO_SEED_LOCK_KEY = 7_384_385;

/** Seeds the demo unless it is done already or the database holds anything else. */
export async function seedDemo(deps: SeedDeps): Promise<SeedOutcome> {
  if (!(deps.db instanceof PostgresDb)) return seedOnce(deps);
  const waitMs = deps.lockWaitMs ?? DEFAULT_SEED_WAIT_MS;
  try {
    return await deps.db.withAdvisoryLock(DEMO_SEED_LOCK_KEY, () => seedOnce(deps), waitMs);
  } catch (error) {
    if (!(error instanceof AdvisoryLockTimeout)) throw error;
    // A seed takes seconds: one held this long is stuck (a hung instance), and waiting on held the start with no word.
    throw new Error(
      `demo seed: another instance has held the demo seed lock for over ${waitMs} ms (FINGATE_DEMO_SEED_WAIT_MS); ` +
        "start-up stopped. Stop or restart the instance seeding this database (its connection holds the lock), then start again",
      { cause: error },
    );
  }
}

async function seedOnce(deps: SeedDeps): Promise<SeedOutcome> {
  const existing = await findDemoInstitution(deps.db);
  if (existing && (await seedCompleted(deps.db))) return { status: "already_seeded", institutionId: existing };
  // Only the demo institution (from an interrupted seed) or nothing at all: anything else is real data.
  const others = await deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM institutions WHERE code <> $1`, [DEMO.institution.code]);
  if ((others.rows[0]?.n ?? 0) > 0) return { status: "not_empty" };
  const institutionId = await seed(deps);
  return { status: "seeded", institutionId };
}

async function findDemoInstitution(db: SqlDb): Promise<string | null> {
  const found = await db.query<{ id: string }>(`SELECT id FROM institutions WHERE code = $1`, [DEMO.institution.code]);
  return found.rows[0]?.id ?? null;
}

async function seedCompleted(db: SqlDb): Promise<boolean> {
  const found = await db.query(`SELECT 1 FROM audit_log WHERE action = $1 LIMIT 1`, [DEMO_SEED_ACTION]);
  return found.rows.length > 0;
}

const entry = (action: string, subject: string, payload: Record<string, unknown>): AuditEntryInput => ({
  ...ACTOR,
  action,
  outcome: "ok",
  subject,
  payload,
});

async function seed(deps: SeedDeps): Promise<string> {
  const now = deps.now ?? (() => new Date());
  const institution = await ensureInstitution(deps.db, deps.ledger, now());
  const country = await deps.services.directory.setDefaultCountry(CTX, institution.id, DEMO.institution.country);
  if (!country.ok) throw new Error(`demo seed: default country refused (${country.code})`);
  const bankId = await ensureSystemAccount(deps.ledger, institution, { kind: "bank" });
  const customers: Customer[] = [];
  for (const c of DEMO.customers) {
    const customer = await ensureCustomer(deps.services.directory, institution.id, c.msisdn, c.displayName);
    await ensurePin(deps.services.pins, customer, c.pin);
    await fund(deps.ledger, bankId, customer, c.openingMinor);
    customers.push(customer);
  }
  await ensureFees(deps.services.fees, institution.id, "p2p", { bands: DEMO.p2pFees, agentShareBps: 0 }, now());
  const agent = deps.services.agents ? await ensureAgent(deps.services.agents, institution.id) : null;
  if (agent) await ensureFees(deps.services.fees, institution.id, "cash_out", { bands: DEMO.cashOutFees, agentShareBps: DEMO.cashOutAgentShareBps }, now());
  const { telco, plan } = await ensureTariff(deps.db, now());
  await new SqlAuditLog(deps.db, now).append([
    entry(DEMO_SEED_ACTION, institution.id, {
      institution: DEMO.institution.code,
      customers: customers.map((c) => c.id),
      agent: agent?.id ?? null,
      telco: telco.id,
      tariffPlan: plan.id,
    }),
  ]);
  return institution.id;
}

/** As Institutions.create does: the row with its fee-income and operating accounts (opened here too when an older seed left them out). */
async function ensureInstitution(db: SqlDb, ledger: Ledger, now: Date): Promise<Institution> {
  const store = new SqlInstitutionStore(db);
  let id = await findDemoInstitution(db);
  if (!id) {
    const { code, name, currency, timezone, language } = DEMO.institution;
    const institution: Institution = { id: uuidv7(), code, name, currency, timezone, language, limitUnitMinor: DEFAULT_LIMIT_UNIT_MINOR, createdAt: now };
    const after = { id: institution.id, code, name, currency, timezone, language };
    await store.insert(institution, [entry("admin.institution.create", institution.id, { before: null, after })], institutionAccounts(institution));
    // false means the code was taken meanwhile (another instance seeding): use that one.
    id = await findDemoInstitution(db);
  }
  const institution = id ? await store.get(id) : null;
  if (!institution) throw new Error("demo seed: the demo institution could not be created");
  await ensureSystemAccount(ledger, institution, { kind: "fee_income" });
  await ensureSystemAccount(ledger, institution, { kind: "bank" });
  return institution;
}

async function ensureCustomer(directory: Directory, institutionId: string, msisdn: string, displayName: string): Promise<Customer> {
  const found = await directory.findCustomerByMsisdn(msisdn, institutionId);
  if (found.ok) return found.value;
  const made = await directory.register(CTX, { institutionId, msisdn, displayName, language: "en" });
  if (made.ok) return made.value;
  const again = await directory.findCustomerByMsisdn(msisdn, institutionId);
  if (again.ok) return again.value;
  throw new Error(`demo seed: registering a demo customer refused (${made.code})`);
}

async function ensurePin(pins: PinService, customer: Customer, pin: string): Promise<void> {
  const set = await pins.setPin({ actor: { type: "system", id: ACTOR.actorId }, channel: "system", subjectId: customer.id, msisdn: customer.msisdn, pin });
  // The result never carries the PIN, so its code is safe to report.
  if (!set.ok && set.code !== "pin_already_set") throw new Error(`demo seed: setting a demo PIN refused (${set.code})`);
}

/** The opening balance, from the bank's operating account; the id is derived, so it posts once. */
async function fund(ledger: Ledger, bankAccountId: string, customer: Customer, amountMinor: bigint): Promise<void> {
  const { result } = await ledger.transfer({
    id: derivedUuid(`fingate:demo:opening-balance:${customer.id}`),
    debitAccountId: bankAccountId,
    creditAccountId: customer.walletAccountId,
    amountMinor,
    code: "cash_in",
    reference: "demo opening balance",
  });
  if (result !== "ok" && result !== "exists") throw new Error(`demo seed: funding a demo wallet refused (${result})`);
}

async function ensureFees(fees: SqlFeeScheduleStore, institutionId: string, type: "p2p" | "cash_out", terms: { bands: readonly FeeBand[]; agentShareBps: number }, now: Date): Promise<void> {
  if (await fees.get(institutionId, type)) return;
  const schedule: FeeSchedule = { type, bands: terms.bands.map((b) => ({ ...b })), agentShareBps: terms.agentShareBps };
  const problems = scheduleProblems(schedule);
  if (problems.length > 0) throw new Error(`demo seed: invalid fee schedule: ${JSON.stringify(problems)}`);
  await fees.put(institutionId, type, schedule, now, (before) => [entry("fees.schedule.set", institutionId, { type, before, after: schedule })]);
}

/** The demo agent through the agents core (its PIN hashed by the PIN service), then its float from the bank's settlement account, once. */
async function ensureAgent(agents: Pick<Agents, "onboard" | "findByMsisdn" | "topUpFloat">, institutionId: string): Promise<Agent> {
  const { msisdn, storeNumber, name, location, pin, floatMinor } = DEMO.agent;
  const actor = { type: "system" as const, id: ACTOR.actorId };
  let agent = await agents.findByMsisdn(msisdn, institutionId);
  if (!agent) {
    const made = await agents.onboard({ institutionId, msisdn, storeNumber, name, location, pin, actor });
    agent = made.ok ? made.agent : await agents.findByMsisdn(msisdn, institutionId);
    // The result never carries the PIN, so its code is safe to report.
    if (!agent) throw new Error(`demo seed: onboarding the demo agent refused (${made.ok ? "not found" : made.code})`);
  }
  const topUp = await agents.topUpFloat({ id: derivedUuid(`fingate:demo:agent-float:${agent.id}`), agentId: agent.id, amountMinor: floatMinor, actor, reference: "demo opening float" });
  if (!topUp.ok) throw new Error(`demo seed: funding the demo agent's float refused (${topUp.code})`);
  return agent;
}

async function ensureTariff(db: SqlDb, now: Date): Promise<{ telco: Telco; plan: TariffPlan }> {
  const store = new SqlTariffStore(db);
  const { code, name, networkCode } = DEMO.telco;
  let telco = await store.findTelco("network_code", networkCode);
  if (!telco) {
    const fresh: Telco = { id: uuidv7(), code, name, networkCodes: [networkCode], smppLinkIds: [], createdAt: now };
    const write = await store.insertTelco(fresh, [entry("tariffs.telco.create", fresh.id, { before: null, after: fresh })]);
    telco = write === "ok" ? fresh : await store.findTelco("network_code", networkCode);
    if (!telco) throw new Error(`demo seed: the demo telco could not be created (${write})`);
  }
  const plans = await store.listPlans(telco.id);
  if (plans[0]) return { telco, plan: plans[0] };
  const terms: TariffTerms = { ...DEMO.tariff, effectiveFrom: now };
  const problems = termsProblems(terms);
  if (problems.length > 0) throw new Error(`demo seed: invalid tariff plan: ${JSON.stringify(problems)}`);
  const plan: TariffPlan = { id: uuidv7(), telcoId: telco.id, ...terms, createdAt: now, updatedAt: now };
  const write = await store.insertPlan(plan, [entry("tariffs.plan.create", plan.id, { before: null, after: plan })]);
  if (write !== "ok") throw new Error(`demo seed: the demo tariff plan could not be created (${write})`);
  return { telco, plan };
}

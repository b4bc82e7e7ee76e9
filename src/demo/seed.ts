/**
 * Demo data for trying fingate without a bank or a telco: one institution, two customers with
 * PINs and funded wallets, a p2p fee schedule and a demo telco with a tariff plan. README lists
 * every value below; change both together.
 *
 * Seeding runs only on an empty database and never twice. It is resumable: every step first looks
 * for what it would create (by institution code, phone number, network code, derived transfer id),
 * so a start-up interrupted halfway finishes the job on the next start. An audit entry with action
 * `demo.seed` marks a completed seed.
 */
import type { AuditEntryInput } from "../core/audit/audit-entry.js";
import type { Directory } from "../core/directory/directory.js";
import type { ActionContext, Customer } from "../core/directory/types.js";
import type { PinService } from "../core/auth/pin-service.js";
import type { FeeBand, FeeSchedule } from "../core/fees/types.js";
import { scheduleProblems } from "../core/fees/bands.js";
import { ensureSystemAccount } from "../core/institutions/system-accounts.js";
import type { Institution } from "../core/institutions/types.js";
import { derivedUuid, uuidv7 } from "../core/ledger/ids.js";
import type { Ledger } from "../core/ledger/ledger.js";
import { termsProblems } from "../core/tariffs/plans.js";
import type { TariffPlan, TariffTerms, Telco } from "../core/tariffs/types.js";
import { SqlAuditLog } from "../infra/db/audit-store.js";
import type { SqlFeeScheduleStore } from "../infra/db/fee-store.js";
import { SqlInstitutionStore } from "../infra/db/institution-store.js";
import type { SqlDb } from "../infra/db/sql.js";
import { SqlTariffStore } from "../infra/db/tariff-store.js";

const U = 100n; // minor units per shilling

/** The demo's fixed data. PINs are here (and in README) on purpose: they only open demo wallets. */
export const DEMO = {
  institution: { code: "demo-ke", name: "Demo Bank Kenya", currency: "KES", timezone: "Africa/Nairobi", country: "KE" },
  customers: [
    // PINs pass the weak-PIN rules (2580 and 1470 are on the common-PIN list, so they would not).
    { msisdn: "+254700000001", displayName: "Jane Wanjiru", pin: "4827", openingMinor: 5_000n * U },
    { msisdn: "+254700000002", displayName: "Otieno Kamau", pin: "5903", openingMinor: 1_000n * U },
  ],
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
  services: { directory: Directory; pins: PinService; fees: SqlFeeScheduleStore };
  now?: () => Date;
}

export type SeedOutcome =
  /** Seeded now. */
  | { status: "seeded"; institutionId: string }
  /** Seeded by an earlier start. */
  | { status: "already_seeded"; institutionId: string }
  /** The database holds other data: nothing was done. */
  | { status: "not_empty" };

/** Seeds the demo unless it is done already or the database holds anything else. */
export async function seedDemo(deps: SeedDeps): Promise<SeedOutcome> {
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
  const bank = await ensureSystemAccount(deps.ledger, institution, { kind: "bank" });
  const customers: Customer[] = [];
  for (const c of DEMO.customers) {
    const customer = await ensureCustomer(deps.services.directory, institution.id, c.msisdn, c.displayName);
    await ensurePin(deps.services.pins, customer, c.pin);
    await fund(deps.ledger, bank.id, customer, c.openingMinor);
    customers.push(customer);
  }
  await ensureP2pFees(deps.services.fees, institution.id, now());
  const { telco, plan } = await ensureTariff(deps.db, now());
  await new SqlAuditLog(deps.db, now).append([
    entry(DEMO_SEED_ACTION, institution.id, {
      institution: DEMO.institution.code,
      customers: customers.map((c) => c.id),
      telco: telco.id,
      tariffPlan: plan.id,
    }),
  ]);
  return institution.id;
}

/** As Institutions.create does: the row, then its fee-income and operating accounts. */
async function ensureInstitution(db: SqlDb, ledger: Ledger, now: Date): Promise<Institution> {
  const store = new SqlInstitutionStore(db);
  let id = await findDemoInstitution(db);
  if (!id) {
    const { code, name, currency, timezone } = DEMO.institution;
    const institution: Institution = { id: uuidv7(), code, name, currency, timezone, createdAt: now };
    const after = { id: institution.id, code, name, currency, timezone };
    await store.insert(institution, [entry("admin.institution.create", institution.id, { before: null, after })]);
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

async function ensureP2pFees(fees: SqlFeeScheduleStore, institutionId: string, now: Date): Promise<void> {
  if (await fees.get(institutionId, "p2p")) return;
  const schedule: FeeSchedule = { type: "p2p", bands: DEMO.p2pFees.map((b) => ({ ...b })), agentShareBps: 0 };
  const problems = scheduleProblems(schedule);
  if (problems.length > 0) throw new Error(`demo seed: invalid fee schedule: ${JSON.stringify(problems)}`);
  await fees.put(institutionId, "p2p", schedule, now, (before) => [entry("fees.schedule.set", institutionId, { type: "p2p", before, after: schedule })]);
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

/**
 * Read-through caches (TtlCache) in front of the configuration the payment path re-reads on every
 * hop. Writes through these wrappers forget what they change at once; a change made elsewhere (the
 * admin API, another instance) is seen within the TTL (FINGATE_READ_CACHE_MS, default 5 s). Money
 * and security state are never cached here: balances, customers, PINs, SIM swaps, limit usage.
 */
import type { AuditEntryInput } from "../../core/audit/audit-entry.js";
import type { AliasHolder, Decision, DirectoryStore, PayeeRecord } from "../../core/directory/ports.js";
import type { Customer, CustomerProfile, InstitutionProfile, Instrument, Language } from "../../core/directory/types.js";
import type { FeeScheduleStore, StoredFeeSchedule } from "../../core/fees/ports.js";
import type { FeeSchedule, FeeType } from "../../core/fees/types.js";
import type { InstitutionStore } from "../../core/institutions/ports.js";
import type { Institution } from "../../core/institutions/types.js";
import type { Account } from "../../core/ledger/types.js";
import type { PeriodKeys } from "../../core/limits/periods.js";
import type { LimitPolicyKey, LimitPolicyStore, StoredLimitPolicy } from "../../core/limits/ports.js";
import type { LimitPolicy, LimitUsage } from "../../core/limits/types.js";
import type { MeterTariffs } from "../../core/tariffs/metering.js";
import type { TariffStore } from "../../core/tariffs/ports.js";
import type { TariffPlan, Telco, TelcoIdentifierKind } from "../../core/tariffs/types.js";
import { TtlCache } from "./ttl-cache.js";

export class CachedInstitutionStore implements InstitutionStore {
  private readonly cache: TtlCache<Institution | null>;

  constructor(
    private readonly inner: InstitutionStore,
    ttlMs: number,
  ) {
    this.cache = new TtlCache(ttlMs);
  }

  async insert(institution: Institution, audit: AuditEntryInput[], accounts: Account[]): Promise<boolean> {
    const inserted = await this.inner.insert(institution, audit, accounts);
    this.cache.invalidate(institution.id);
    return inserted;
  }

  knowsTimeZone(timeZone: string): Promise<boolean> {
    return this.inner.knowsTimeZone(timeZone);
  }

  async setLanguage(id: string, language: Language, audit: AuditEntryInput[]): Promise<boolean> {
    const updated = await this.inner.setLanguage(id, language, audit);
    this.cache.invalidate(id);
    return updated;
  }

  async setLimitUnit(id: string, limitUnitMinor: bigint, audit: AuditEntryInput[]): Promise<boolean> {
    const updated = await this.inner.setLimitUnit(id, limitUnitMinor, audit);
    this.cache.invalidate(id);
    return updated;
  }

  get(id: string): Promise<Institution | null> {
    return this.cache.get(id, () => this.inner.get(id));
  }

  list(limit: number, after?: string): Promise<Institution[]> {
    return this.inner.list(limit, after);
  }
}

export class CachedFeeScheduleStore implements FeeScheduleStore {
  private readonly cache: TtlCache<StoredFeeSchedule | null>;

  constructor(
    private readonly inner: FeeScheduleStore,
    ttlMs: number,
  ) {
    this.cache = new TtlCache(ttlMs);
  }

  list(institutionId: string): Promise<StoredFeeSchedule[]> {
    return this.inner.list(institutionId);
  }

  get(institutionId: string, type: FeeType): Promise<StoredFeeSchedule | null> {
    return this.cache.get(`${institutionId}:${type}`, () => this.inner.get(institutionId, type));
  }

  async put(
    institutionId: string,
    type: FeeType,
    schedule: FeeSchedule | null,
    now: Date,
    audit: (before: FeeSchedule | null) => AuditEntryInput[],
  ): Promise<FeeSchedule | null> {
    try {
      return await this.inner.put(institutionId, type, schedule, now, audit);
    } finally {
      this.cache.invalidate(`${institutionId}:`);
    }
  }
}

export class CachedLimitPolicyStore implements LimitPolicyStore {
  private readonly cache: TtlCache<StoredLimitPolicy[]>;

  constructor(
    private readonly inner: LimitPolicyStore,
    ttlMs: number,
  ) {
    this.cache = new TtlCache(ttlMs);
  }

  list(institutionId: string): Promise<StoredLimitPolicy[]> {
    return this.cache.get(institutionId, () => this.inner.list(institutionId));
  }

  /** Not cached: it changes with every payment. */
  usage(accountId: string, periods: PeriodKeys): Promise<LimitUsage> {
    return this.inner.usage(accountId, periods);
  }

  async put(key: LimitPolicyKey, policy: LimitPolicy | null, now: Date, audit: (before: LimitPolicy | null) => AuditEntryInput[]): Promise<LimitPolicy | null> {
    try {
      return await this.inner.put(key, policy, now, audit);
    } finally {
      this.cache.invalidate(key.institutionId);
    }
  }
}

/** The directory store with its institution profile (default country) cached; everything else passes through. */
export class CachedInstitutionProfileStore implements DirectoryStore {
  private readonly cache: TtlCache<InstitutionProfile | null>;

  constructor(
    private readonly inner: DirectoryStore,
    ttlMs: number,
  ) {
    this.cache = new TtlCache(ttlMs);
  }

  getInstitution(institutionId: string): Promise<InstitutionProfile | null> {
    return this.cache.get(institutionId, () => this.inner.getInstitution(institutionId));
  }

  async setDefaultCountry(institutionId: string, country: string): Promise<void> {
    try {
      await this.inner.setDefaultCountry(institutionId, country);
    } finally {
      this.cache.invalidate(institutionId);
    }
  }

  insertCustomer(customer: Customer, wallet: Instrument): Promise<void> {
    return this.inner.insertCustomer(customer, wallet);
  }

  getCustomer(customerId: string): Promise<Customer | null> {
    return this.inner.getCustomer(customerId);
  }

  findCustomerByMsisdn(msisdn: string): Promise<Customer | null> {
    return this.inner.findCustomerByMsisdn(msisdn);
  }

  loadProfile(customerId: string): Promise<CustomerProfile | null> {
    return this.inner.loadProfile(customerId);
  }

  listInstruments(customerId: string): Promise<Instrument[]> {
    return this.inner.listInstruments(customerId);
  }

  updateCustomer<T>(customerId: string, decide: (profile: CustomerProfile | null) => Decision<T>): Promise<Decision<T>> {
    return this.inner.updateCustomer(customerId, decide);
  }

  findPayeeByMsisdn(msisdn: string): Promise<PayeeRecord | null> {
    return this.inner.findPayeeByMsisdn(msisdn);
  }

  findPayeeByAlias(aliasKey: string): Promise<PayeeRecord | null> {
    return this.inner.findPayeeByAlias(aliasKey);
  }

  findAliasHolders(aliasKey: string): Promise<AliasHolder[]> {
    return this.inner.findAliasHolders(aliasKey);
  }
}

/**
 * What the session meter reads: the telco behind a network code, and the plan in effect at a moment,
 * both cached. Plans are cached as the telco's whole timeline (every plan, by effective date), not
 * as the answer for one moment: a plan already stored to start at 12:00 bills sessions started from
 * 12:00 exactly, cached or not. Only a plan added or changed elsewhere is seen within the TTL, as
 * for fee schedules. Every session's end asked the database for its plan.
 */
export class CachedTelcoLookup implements MeterTariffs {
  private readonly telcos: TtlCache<Telco | null>;
  private readonly timelines: TtlCache<TariffPlan[]>;

  constructor(
    private readonly inner: Pick<TariffStore, "findTelco" | "listPlans">,
    ttlMs: number,
  ) {
    this.telcos = new TtlCache(ttlMs);
    this.timelines = new TtlCache(ttlMs);
  }

  findTelco(kind: TelcoIdentifierKind, value: string): Promise<Telco | null> {
    return this.telcos.get(`${kind}:${value}`, () => this.inner.findTelco(kind, value));
  }

  /** The meter found a cached plan gone (deleted within the TTL): read the timeline again. */
  forgetPlans(telcoId: string): void {
    this.timelines.invalidate(telcoId);
  }

  async planInEffect(telcoId: string, at: Date): Promise<TariffPlan | null> {
    // listPlans orders a telco's plans by effective date: the last one started by `at` applies.
    const plans = await this.timelines.get(telcoId, () => this.inner.listPlans(telcoId));
    const t = at.getTime();
    for (let i = plans.length - 1; i >= 0; i--) if (plans[i]!.effectiveFrom.getTime() <= t) return plans[i]!;
    return null;
  }
}

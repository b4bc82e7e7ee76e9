import { randomBytes } from "node:crypto";
import { Agents } from "./core/agents/agents.js";
import { AgentDeviceKeys } from "./core/agents/device-keys.js";
import { PinService } from "./core/auth/pin-service.js";
import { SimSwapGuard } from "./core/auth/sim-swap.js";
import { Directory } from "./core/directory/directory.js";
import type { Ledger } from "./core/ledger/ledger.js";
import { FeeSchedules } from "./core/fees/schedules.js";
import { institutionLimitUnits } from "./core/institutions/limit-units.js";
import { LimitPolicies } from "./core/limits/policies.js";
import { Payments } from "./core/payments/payments.js";
import { SessionMeter } from "./core/tariffs/metering.js";
import type { PinScheme } from "./config.js";
import { Argon2PinHasher } from "./infra/auth/argon2-hasher.js";
import { HmacPinHasher } from "./infra/auth/hmac-pin-hasher.js";
import { SqlAgentDeviceKeyStore } from "./infra/db/agent-device-key-store.js";
import { SqlAgentStore } from "./infra/db/agent-store.js";
import {
  CachedFeeScheduleStore,
  CachedInstitutionProfileStore,
  CachedInstitutionStore,
  CachedLimitPolicyStore,
  CachedTelcoLookup,
} from "./infra/cache/cached-stores.js";
import { SqlAuditLog } from "./infra/db/audit-store.js";
import { PrismaDirectoryStore } from "./infra/db/directory-store.js";
import { SqlFeeScheduleStore } from "./infra/db/fee-store.js";
import { SqlInstitutionStore } from "./infra/db/institution-store.js";
import { SqlLimitPolicyStore } from "./infra/db/limit-policy-store.js";
import { SqlPinStore } from "./infra/db/pin-store.js";
import { createPrisma, type PrismaClient } from "./infra/db/prisma.js";
import { SqlSessionLog } from "./infra/db/metered-session-store.js";
import { SqlSimSwapStore } from "./infra/db/sim-swap-store.js";
import { SqlTariffStore } from "./infra/db/tariff-store.js";
import type { SqlDb } from "./infra/db/sql.js";

export interface ServiceOptions {
  /** PostgreSQL schema, so Prisma queries the same one as the SQL stores. */
  schema?: string;
  /** FINGATE_PIN_PEPPER: the Argon2id secret (argon2id credentials, FINGATE_PIN_SCHEME=argon2id). */
  pinPepper?: string;
  /**
   * FINGATE_PIN_KEY, resolved (src/infra/auth/pin-key.ts): the keyed scheme's secret. main.ts always
   * passes one; without it (tests, tools) a random key lives as long as the process.
   */
  pinKey?: Uint8Array;
  /** How new PINs are stored; credentials of the other scheme still verify and are re-keyed. */
  pinScheme?: PinScheme;
  /** FINGATE_PIN_SEEN_SUBJECTS: the one-write verify's bound (PinService's seenCredentials; unset: its default). */
  pinSeenSubjects?: number;
  /**
   * FINGATE_READ_CACHE_MS: how long the payment path may reuse an institution, fee schedule, limit
   * policy or default country it read (src/infra/cache). 0 (the default here, for tests) reads every time.
   */
  readCacheMs?: number;
  clock?: () => Date;
  /** FINGATE_AGENT_CASH_OUT_TIMEOUT_SEC: how long a customer has to approve an agent's cash-out. */
  cashOutTimeoutSec?: number;
}

/** The core services over one database and ledger: what main.ts serves and the tests drive. */
export interface CoreServices {
  prisma: PrismaClient;
  audit: SqlAuditLog;
  directory: Directory;
  pins: PinService;
  simSwap: SimSwapGuard;
  institutions: SqlInstitutionStore;
  fees: SqlFeeScheduleStore;
  limits: SqlLimitPolicyStore;
  payments: Payments;
  /** Business correspondents: float, cash-in, cash-out, commission, reversal. */
  agents: Agents;
  /** Keys of agents' point-of-sale apps (the agent HTTP API). */
  agentKeys: AgentDeviceKeys;
  /** Charges finished USSD sessions per the telco's tariff plan, once per session. */
  sessionMeter: SessionMeter;
  /** Telcos and their tariff plans (the USSD gateway checks the plans' stage caps against its menus). */
  tariffs: SqlTariffStore;
  close(): Promise<void>;
}

export function buildServices(db: SqlDb, ledger: Ledger, options: ServiceOptions = {}): CoreServices {
  const clock = options.clock ?? (() => new Date());
  const prisma = createPrisma(db, options.schema);
  const audit = new SqlAuditLog(db, clock);
  const cacheMs = options.readCacheMs ?? 0;
  const directoryStore = new PrismaDirectoryStore(prisma, db);
  const directory = new Directory({ store: cacheMs > 0 ? new CachedInstitutionProfileStore(directoryStore, cacheMs) : directoryStore, ledger, audit, now: clock });
  const simSwap = new SimSwapGuard({ store: new SqlSimSwapStore(db), clock });
  const pins = new PinService({ store: new SqlPinStore(db), ...pinHashers(options), audit, simSwap, clock, seenCredentials: options.pinSeenSubjects });
  const institutions = new SqlInstitutionStore(db);
  const fees = new SqlFeeScheduleStore(db);
  const limits = new SqlLimitPolicyStore(db);
  // What every payment hop re-reads, cached for a few seconds (never balances, customers or PINs).
  const cachedInstitutions = cacheMs > 0 ? new CachedInstitutionStore(institutions, cacheMs) : institutions;
  const limitPolicies = new LimitPolicies(cacheMs > 0 ? new CachedLimitPolicyStore(limits, cacheMs) : limits, clock, institutionLimitUnits(cachedInstitutions));
  const feeSchedules = new FeeSchedules(cacheMs > 0 ? new CachedFeeScheduleStore(fees, cacheMs) : fees, clock);
  // What moving a customer's money needs, whether the customer or an agent starts it.
  const moneyDeps = { ledger, directory, pins, simSwap, institutions: cachedInstitutions, limits: limitPolicies, fees: feeSchedules };
  const payments = new Payments(moneyDeps);
  const agentStore = new SqlAgentStore(db);
  const agentKeys = new AgentDeviceKeys({ keys: new SqlAgentDeviceKeyStore(db), agents: agentStore, now: clock });
  const agents = new Agents({
    ...moneyDeps,
    store: agentStore,
    audit,
    defaultCountry: async (institutionId) => (await directoryStore.getInstitution(institutionId))?.defaultCountry ?? null,
    clock,
    cashOutTimeoutSec: options.cashOutTimeoutSec,
  });
  const tariffs = new SqlTariffStore(db);
  const sessionMeter = new SessionMeter({
    tariffs: cacheMs > 0 ? new CachedTelcoLookup(tariffs, cacheMs) : tariffs,
    sessions: new SqlSessionLog(db),
    institutions: cachedInstitutions,
    ledger,
  });
  return {
    prisma,
    audit,
    directory,
    pins,
    simSwap,
    institutions,
    fees,
    limits,
    payments,
    agents,
    agentKeys,
    sessionMeter,
    tariffs,
    close: () => prisma.$disconnect(),
  };
}

/** The current PIN scheme and the other one, so that credentials of either verify. */
function pinHashers(options: ServiceOptions) {
  const secret = options.pinPepper ? new TextEncoder().encode(options.pinPepper) : undefined;
  const argon2 = new Argon2PinHasher({ secret });
  const keyed = new HmacPinHasher(options.pinKey ?? randomBytes(32));
  return options.pinScheme === "argon2id" ? { hasher: argon2, previous: [keyed] } : { hasher: keyed, previous: [argon2] };
}

import { ApiKeyService } from "../../core/access/api-key-service.js";
import type { Agents } from "../../core/agents/agents.js";
import type { AgentDeviceKeys } from "../../core/agents/device-keys.js";
import type { PinService } from "../../core/auth/pin-service.js";
import type { SimSwapGuard } from "../../core/auth/sim-swap.js";
import type { Directory } from "../../core/directory/directory.js";
import { FeeSchedules } from "../../core/fees/schedules.js";
import { Institutions } from "../../core/institutions/institutions.js";
import { institutionLimitUnits } from "../../core/institutions/limit-units.js";
import type { SystemAccountLedger } from "../../core/institutions/system-accounts.js";
import { LimitPolicies } from "../../core/limits/policies.js";
import { TariffPlans } from "../../core/tariffs/plans.js";
import { SqlApiKeyStore } from "../../infra/db/api-key-store.js";
import { SqlFeeScheduleStore } from "../../infra/db/fee-store.js";
import { SqlInstitutionStore } from "../../infra/db/institution-store.js";
import { SqlLimitPolicyStore } from "../../infra/db/limit-policy-store.js";
import type { SqlDb } from "../../infra/db/sql.js";
import { SqlTariffStore } from "../../infra/db/tariff-store.js";
import type { Logger } from "../../infra/log.js";
import type { SmsLinkAdmin } from "../../sms/links/link-admin.js";

export interface AdminDeps {
  db: SqlDb;
  /** Opens the institution's own accounts (fee income, operating) when it is created. */
  ledger: SystemAccountLedger;
  logger: Logger;
  /** FINGATE_PLATFORM_API_KEY: a platform operator key kept only in the environment (≥ 32 characters). */
  platformApiKey?: string;
  /** Customer KYC tier and status; without it those endpoints answer 501. */
  directory?: Directory;
  /** PIN unlock and reset; without it those endpoints answer 501. */
  pins?: PinService;
  /** SIM-swap reports by the bank; without it reporting answers 501 (listing works regardless). */
  simSwaps?: SimSwapGuard;
  /** Agents (business correspondents) and their device keys; without them those endpoints answer 501. */
  agents?: Agents;
  agentKeys?: AgentDeviceKeys;
  /** SMPP link configuration and state; without it those endpoints answer 501. */
  smsLinks?: SmsLinkAdmin;
  now?: () => Date;
}

/** Everything the admin routes call, built once per router: the services made here and the optional ones passed in as they are. */
export interface AdminServices extends Pick<AdminDeps, "db" | "directory" | "pins" | "simSwaps" | "agents" | "agentKeys" | "smsLinks"> {
  keys: ApiKeyService;
  institutions: Institutions;
  limits: LimitPolicies;
  fees: FeeSchedules;
  tariffs: TariffPlans;
}

export function buildAdminServices(deps: AdminDeps): AdminServices {
  const now = deps.now ?? (() => new Date());
  const institutions = new SqlInstitutionStore(deps.db);
  return {
    db: deps.db,
    keys: new ApiKeyService({ store: new SqlApiKeyStore(deps.db), platformKey: deps.platformApiKey, now }),
    institutions: new Institutions({ store: institutions, ledger: deps.ledger, now }),
    limits: new LimitPolicies(new SqlLimitPolicyStore(deps.db), now, institutionLimitUnits(institutions)),
    fees: new FeeSchedules(new SqlFeeScheduleStore(deps.db), now),
    tariffs: new TariffPlans(new SqlTariffStore(deps.db), now),
    directory: deps.directory,
    pins: deps.pins,
    simSwaps: deps.simSwaps,
    agents: deps.agents,
    agentKeys: deps.agentKeys,
    smsLinks: deps.smsLinks,
  };
}

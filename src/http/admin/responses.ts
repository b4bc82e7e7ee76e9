import { z } from "zod";
import { INSTITUTION_ROLES } from "../../core/access/types.js";
import { FEE_TYPES } from "../../core/fees/types.js";
import { LIMIT_CHANNELS } from "../../core/limits/types.js";
import { SESSION_PAYERS } from "../../core/tariffs/types.js";
import { amountOut } from "./schemas.js";

/**
 * Shapes of the JSON the admin API answers with, for the OpenAPI document. Amounts are decimal
 * strings of minor units, times ISO-8601 strings.
 */
const time = z.string().meta({ format: "date-time" });

export const institutionOut = z
  .object({
    id: z.string(),
    code: z.string(),
    name: z.string(),
    currency: z.string(),
    timezone: z.string(),
    language: z.string(),
    limitUnitMinor: z.string().meta({ description: "minor units of the currency to one unit of the default limits" }),
    createdAt: time,
    accounts: z.object({ feeIncome: z.string(), bank: z.string() }),
  })
  .meta({ title: "Institution" });

export const apiKeyOut = z
  .object({
    id: z.string(),
    institutionId: z.string().nullable(),
    role: z.enum([...INSTITUTION_ROLES, "platform"]),
    name: z.string(),
    prefix: z.string(),
    createdAt: time,
    revokedAt: time.nullable(),
  })
  .meta({ title: "ApiKey" });

export const createdKeyOut = z.object({ key: apiKeyOut, secret: z.string().meta({ description: "shown once; store it now" }) });

const policyOut = z.object({
  maxPerTransactionMinor: amountOut,
  maxDailyAmountMinor: amountOut,
  maxDailyCount: z.number().int(),
  maxMonthlyAmountMinor: amountOut,
  maxBalanceMinor: amountOut,
});

export const policyViewOut = z
  .object({
    channel: z.enum(LIMIT_CHANNELS),
    tier: z.number().int(),
    securityLevel: z.number().int().meta({ description: "ITU-T Y.2740 security level of the channel (1 lowest, 4 highest)" }),
    policy: policyOut,
    ceiling: policyOut,
    source: z.enum(["default", "institution"]),
    updatedAt: time.nullable(),
  })
  .meta({ title: "LimitPolicy" });

const bandOut = z.object({ minMinor: amountOut, maxMinor: amountOut, feeMinor: amountOut });

export const feeScheduleOut = z
  .object({ type: z.enum(FEE_TYPES), bands: z.array(bandOut), agentShareBps: z.number().int(), updatedAt: time })
  .meta({ title: "FeeSchedule" });

export const feeQuoteOut = z.object({
  type: z.enum(FEE_TYPES),
  amountMinor: amountOut,
  feeMinor: amountOut,
  agentCommissionMinor: amountOut,
  totalMinor: amountOut,
  band: bandOut.nullable(),
});

export const telcoOut = z
  .object({ id: z.string(), code: z.string(), name: z.string(), networkCodes: z.array(z.string()), smppLinkIds: z.array(z.string()), createdAt: time })
  .meta({ title: "Telco" });

export const tariffPlanOut = z
  .object({
    id: z.string(),
    telcoId: z.string(),
    name: z.string(),
    currency: z.string(),
    perSessionMinor: amountOut,
    perStageMinor: amountOut,
    ceilingMinor: amountOut,
    maxStages: z.number().int(),
    payer: z.enum(SESSION_PAYERS),
    effectiveFrom: time,
    createdAt: time,
    updatedAt: time,
  })
  .meta({ title: "TariffPlan" });

export const customerOut = z
  .object({
    id: z.string(),
    institutionId: z.string(),
    msisdn: z.string(),
    displayName: z.string(),
    language: z.string(),
    kycTier: z.number().int(),
    status: z.string(),
    walletAccountId: z.string(),
    createdAt: time,
  })
  .meta({ title: "Customer" });

export const listOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });

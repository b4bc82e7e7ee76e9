import { z } from "zod";
import { AGENT_STATUSES, type AgentRefusal } from "../../../core/agents/types.js";
import { isRefusalCode } from "../refusals.js";
import { invalid, refuse, type Reply } from "../registry.js";
import { amountMinor, amountOut, uuid } from "../schemas.js";

/** Request and response shapes of the admin API's agent endpoints (amounts: decimal strings). */
const time = z.string().meta({ format: "date-time" });

const limitsOut = z.object({
  maxPerTransactionMinor: amountOut,
  maxDailyFloatOutMinor: amountOut,
  maxDailyFloatInMinor: amountOut,
  maxDailyCount: z.number().int(),
  maxFloatBalanceMinor: amountOut,
});

export const agentOut = z
  .object({
    id: z.string(),
    institutionId: z.string(),
    msisdn: z.string(),
    storeNumber: z.string(),
    name: z.string(),
    location: z.string(),
    status: z.enum(AGENT_STATUSES),
    floatAccountId: z.string(),
    commissionAccountId: z.string(),
    limits: limitsOut,
    createdAt: time,
    updatedAt: time,
  })
  .meta({ title: "Agent" });

export const agentDetailOut = agentOut.extend({ floatBalanceMinor: amountOut, commissionBalanceMinor: amountOut }).meta({ title: "AgentWithBalances" });

export const limitsBody = z.strictObject({
  maxPerTransactionMinor: amountMinor.optional(),
  maxDailyFloatOutMinor: amountMinor.optional().meta({ description: "cash-ins (float leaving) per local day" }),
  maxDailyFloatInMinor: amountMinor.optional().meta({ description: "customers' withdrawals and cash-outs (float arriving) per local day" }),
  maxDailyCount: z.number().int().min(1).max(100_000).optional(),
  maxFloatBalanceMinor: amountMinor.optional(),
});

export const onboardBody = z.strictObject({
  msisdn: z.string().min(1).max(32),
  storeNumber: z.string().regex(/^[0-9]{4,12}$/, "must be 4 to 12 digits"),
  name: z.string().min(1).max(100),
  location: z.string().min(1).max(100),
  limits: limitsBody.optional(),
  pin: z.string().regex(/^[0-9]{4,6}$/, "must be 4 to 6 digits").meta({ description: "the agent's first PIN; hashed, never stored or logged" }),
});

export const floatBody = z.strictObject({
  requestId: uuid.meta({ description: "chosen by the bank; a retry with the same id moves money once" }),
  amountMinor,
  reference: z.string().min(1).max(128).optional(),
});

export const floatReceiptOut = z
  .object({ transferId: z.string(), amountMinor: amountOut, floatBalanceMinor: amountOut, currency: z.string(), replayed: z.boolean() })
  .meta({ title: "FloatReceipt" });

export const reversalOut = z
  .object({
    reversalId: z.string(),
    originalId: z.string(),
    amountMinor: amountOut,
    feeRefundMinor: amountOut,
    commissionClawbackMinor: amountOut,
    currency: z.string(),
  })
  .meta({ title: "CashInReversal" });

export const statementOut = z
  .object({
    items: z.array(
      z.object({
        id: z.string(),
        seq: z.string(),
        kind: z.string(),
        code: z.string(),
        direction: z.enum(["in", "out"]),
        amountMinor: amountOut,
        counterpartyAccountId: z.string(),
        pendingId: z.string().nullable(),
        reference: z.string().nullable(),
        createdAt: time,
      }),
    ),
    nextBeforeSeq: z.string().nullable(),
  })
  .meta({ title: "AgentStatement" });

export const deviceKeyOut = z
  .object({ id: z.string(), agentId: z.string(), name: z.string(), prefix: z.string(), createdAt: time, revokedAt: time.nullable() })
  .meta({ title: "AgentDeviceKey" });

/** An agent refusal through the one status table; problems become field details. */
export function agentRefusal(r: AgentRefusal): Reply {
  if (r.code === "invalid_input") return invalid(r.problems ?? []);
  // The customer's wallet frozen or closed (a reversal's customer): the admin API's word for it.
  if (r.code === "customer_unavailable") return refuse("customer_not_active");
  if (isRefusalCode(r.code)) return refuse(r.code, r.availableMinor !== undefined ? [{ path: "availableMinor", message: r.availableMinor.toString() }] : undefined);
  return refuse("invalid_request", [{ path: "code", message: r.code }]);
}

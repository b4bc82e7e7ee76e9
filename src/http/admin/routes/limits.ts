import { z } from "zod";
import { LIMIT_CHANNELS, type LimitTier } from "../../../core/limits/types.js";
import { listOf, policyViewOut } from "../responses.js";
import { ANY_BANK_ROLE, API_PREFIX, invalid, reply, route, type AnyRoute } from "../registry.js";
import { amountMinor, uuid } from "../schemas.js";
import type { AdminServices } from "../services.js";

const CELL = `${API_PREFIX}/institutions/{institutionId}/limits/{channel}/{tier}`;
const READERS = { roles: ANY_BANK_ROLE, platform: true };
const WRITERS = { roles: ["admin"], platform: false } as const;

const cellParams = z.object({
  institutionId: uuid,
  channel: z.enum(LIMIT_CHANNELS),
  tier: z.enum(["0", "1", "2", "3"]).transform((t) => Number(t) as LimitTier).meta({ description: "KYC tier 0..3" }),
});

const policyBody = z.strictObject({
  maxPerTransactionMinor: amountMinor,
  maxDailyAmountMinor: amountMinor,
  maxDailyCount: z.number().int().min(0).max(1_000_000),
  maxMonthlyAmountMinor: amountMinor,
  maxBalanceMinor: amountMinor,
});

export function limitRoutes(s: AdminServices): AnyRoute[] {
  return [listLimitPolicies(s), getLimitPolicy(s), setLimitPolicy(s), resetLimitPolicy(s)];
}

function listLimitPolicies(s: AdminServices): AnyRoute {
  return route({
    id: "listLimitPolicies",
    method: "get",
    path: `${API_PREFIX}/institutions/{institutionId}/limits`,
    summary: "The limit matrix: every channel × KYC tier, with its security level, ceiling and source",
    tag: "limits",
    access: READERS,
    params: z.object({ institutionId: uuid }),
    success: { status: 200, description: "20 cells", schema: listOf(policyViewOut) },
    async handle({ institution }) {
      return reply({ items: await s.limits.matrix(institution!.id) });
    },
  });
}

function getLimitPolicy(s: AdminServices): AnyRoute {
  return route({
    id: "getLimitPolicy",
    method: "get",
    path: CELL,
    summary: "The limits for one channel and KYC tier",
    tag: "limits",
    access: READERS,
    params: cellParams,
    success: { status: 200, description: "the cell", schema: policyViewOut },
    async handle({ institution, params }) {
      return reply(await s.limits.cell({ institutionId: institution!.id, channel: params.channel, tier: params.tier }));
    },
  });
}

function setLimitPolicy(s: AdminServices): AnyRoute {
  return route({
    id: "setLimitPolicy",
    method: "put",
    path: CELL,
    summary: "Set the limits for one channel and KYC tier; each may only tighten the security level's default",
    tag: "limits",
    access: WRITERS,
    params: cellParams,
    body: policyBody,
    success: { status: 200, description: "the cell as it now applies", schema: policyViewOut },
    async handle({ principal, institution, params, body }) {
      const result = await s.limits.set(principal, { institutionId: institution!.id, channel: params.channel, tier: params.tier }, body);
      return result.ok ? reply(result.view) : invalid(result.problems);
    },
  });
}

function resetLimitPolicy(s: AdminServices): AnyRoute {
  return route({
    id: "resetLimitPolicy",
    method: "delete",
    path: CELL,
    summary: "Return one channel and KYC tier to the security level's default",
    tag: "limits",
    access: WRITERS,
    params: cellParams,
    success: { status: 200, description: "the cell as it now applies", schema: policyViewOut },
    async handle({ principal, institution, params }) {
      const { view } = await s.limits.reset(principal, { institutionId: institution!.id, channel: params.channel, tier: params.tier });
      return reply(view);
    },
  });
}

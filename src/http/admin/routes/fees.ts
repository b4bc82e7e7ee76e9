import { z } from "zod";
import { FEE_TYPES } from "../../../core/fees/types.js";
import { feeQuoteOut, feeScheduleOut, listOf } from "../responses.js";
import { ANY_BANK_ROLE, API_PREFIX, invalid, noContent, refuse, reply, route, type AnyRoute } from "../registry.js";
import { amountMinor, uuid } from "../schemas.js";
import type { AdminServices } from "../services.js";

const SCHEDULE = `${API_PREFIX}/institutions/{institutionId}/fees/{type}`;
const READERS = { roles: ANY_BANK_ROLE, platform: true };
const WRITERS = { roles: ["admin"], platform: false } as const;

const typeParams = z.object({ institutionId: uuid, type: z.enum(FEE_TYPES) });

const scheduleBody = z.strictObject({
  bands: z
    .array(z.strictObject({ minMinor: amountMinor, maxMinor: amountMinor, feeMinor: amountMinor }))
    .min(1)
    .max(50)
    .meta({ description: "ascending, contiguous bands: each starts one minor unit after the previous one ends" }),
  agentShareBps: z.number().int().min(0).max(10_000).default(0).meta({ description: "agent's share of each fee, basis points" }),
});

export function feeRoutes(s: AdminServices): AnyRoute[] {
  return [listFeeSchedules(s), getFeeSchedule(s), setFeeSchedule(s), removeFeeSchedule(s), quoteFee(s)];
}

function listFeeSchedules(s: AdminServices): AnyRoute {
  return route({
    id: "listFeeSchedules",
    method: "get",
    path: `${API_PREFIX}/institutions/{institutionId}/fees`,
    summary: "The institution's fee schedules; a type without one is free",
    tag: "fees",
    access: READERS,
    params: z.object({ institutionId: uuid }),
    success: { status: 200, description: "the schedules", schema: listOf(feeScheduleOut) },
    async handle({ institution }) {
      return reply({ items: await s.fees.list(institution!.id) });
    },
  });
}

function getFeeSchedule(s: AdminServices): AnyRoute {
  return route({
    id: "getFeeSchedule",
    method: "get",
    path: SCHEDULE,
    summary: "The fee schedule of one payment type",
    tag: "fees",
    access: READERS,
    params: typeParams,
    success: { status: 200, description: "the schedule", schema: feeScheduleOut },
    refusals: ["fee_schedule_not_found"],
    async handle({ institution, params }) {
      const schedule = await s.fees.get(institution!.id, params.type);
      return schedule ? reply(schedule) : refuse("fee_schedule_not_found");
    },
  });
}

function setFeeSchedule(s: AdminServices): AnyRoute {
  return route({
    id: "setFeeSchedule",
    method: "put",
    path: SCHEDULE,
    summary: "Replace the fee schedule of one payment type",
    tag: "fees",
    access: WRITERS,
    params: typeParams,
    body: scheduleBody,
    success: { status: 200, description: "the schedule now in force", schema: feeScheduleOut },
    async handle({ principal, institution, params, body }) {
      const result = await s.fees.set(principal, institution!.id, params.type, body);
      return result.ok ? reply(result.schedule) : invalid(result.problems);
    },
  });
}

function removeFeeSchedule(s: AdminServices): AnyRoute {
  return route({
    id: "removeFeeSchedule",
    method: "delete",
    path: SCHEDULE,
    summary: "Remove the fee schedule of one payment type: such payments become free",
    tag: "fees",
    access: WRITERS,
    params: typeParams,
    success: { status: 204, description: "removed" },
    refusals: ["fee_schedule_not_found"],
    async handle({ principal, institution, params }) {
      const before = await s.fees.remove(principal, institution!.id, params.type);
      return before ? noContent() : refuse("fee_schedule_not_found");
    },
  });
}

function quoteFee(s: AdminServices): AnyRoute {
  return route({
    id: "quoteFee",
    method: "get",
    path: `${SCHEDULE}/quote`,
    summary: "The fee a payment of this amount would pay (what menus show before asking for the PIN)",
    tag: "fees",
    access: READERS,
    params: typeParams,
    query: z.strictObject({ amountMinor: amountMinor.refine((a) => a > 0n, "must be at least 1") }),
    success: { status: 200, description: "the quote", schema: feeQuoteOut },
    refusals: ["amount_outside_fee_bands"],
    async handle({ institution, params, query }) {
      const quote = await s.fees.quote(institution!.id, params.type, query.amountMinor);
      if (!quote.ok) {
        return refuse("amount_outside_fee_bands", [{ path: "query.amountMinor", message: `must be from ${quote.minMinor} to ${quote.maxMinor}` }]);
      }
      const { feeMinor, agentCommissionMinor, band } = quote;
      return reply({ type: params.type, amountMinor: query.amountMinor, feeMinor, agentCommissionMinor, totalMinor: query.amountMinor + feeMinor, band });
    },
  });
}

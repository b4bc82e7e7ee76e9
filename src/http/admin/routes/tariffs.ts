import { z } from "zod";
import type { PlanResult, TelcoResult } from "../../../core/tariffs/plans.js";
import { SESSION_PAYERS } from "../../../core/tariffs/types.js";
import { listOf, tariffPlanOut, telcoOut } from "../responses.js";
import { ANY_BANK_ROLE, API_PREFIX, PLATFORM_ONLY, invalid, refuse, reply, route, type AnyRoute, type Reply } from "../registry.js";
import { amountMinor, timestamp, uuid } from "../schemas.js";
import type { AdminServices } from "../services.js";

/** Banks may read telcos and plans (their customers pay them); only the platform changes them. */
const READERS = { roles: ANY_BANK_ROLE, platform: true };

const identifier = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, "must be 1-64 letters, digits or . _ : -");
const identifiers = z.array(identifier).max(20).refine((list) => new Set(list).size === list.length, "must not repeat a value");

const telcoFields = {
  name: z.string().trim().min(1).max(100),
  networkCodes: identifiers.default([]).meta({ description: "the aggregators' network codes, e.g. 63902" }),
  smppLinkIds: identifiers.default([]).meta({ description: "ids of the SMPP links that carry this telco's USSD" }),
};

const terms = {
  name: z.string().trim().min(1).max(100),
  currency: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as INR"),
  perSessionMinor: amountMinor,
  perStageMinor: amountMinor,
  ceilingMinor: amountMinor,
  maxStages: z.number().int().min(1).max(100),
  payer: z.enum(SESSION_PAYERS),
  effectiveFrom: timestamp.meta({ description: "sessions starting at or after this time use this plan; not before the plan is created (or moved)" }),
};

const telcoReply = (r: TelcoResult, status = 200): Reply => (r.ok ? reply(r.telco, status) : refuse(r.code));
const planReply = (r: PlanResult, status = 200): Reply => {
  if (r.ok) return reply(r.plan, status);
  return r.code === "invalid_tariff_plan" ? invalid(r.problems) : refuse(r.code);
};

const telcoPath = `${API_PREFIX}/telcos/{telcoId}`;
const planPath = `${API_PREFIX}/tariff-plans/{planId}`;
const planParams = z.object({ planId: uuid });

export function telcoRoutes(s: AdminServices): AnyRoute[] {
  return [createTelco(s), listTelcos(s), getTelco(s), updateTelco(s)];
}

function createTelco(s: AdminServices): AnyRoute {
  return route({
    id: "createTelco",
    method: "post",
    path: `${API_PREFIX}/telcos`,
    summary: "Register a telco and the network codes and SMPP links that identify it",
    tag: "telcos",
    access: PLATFORM_ONLY,
    body: z.strictObject({ code: z.string().regex(/^[a-z0-9][a-z0-9-]{1,39}$/, "must be 2-40 lower-case letters, digits or dashes"), ...telcoFields }),
    success: { status: 201, description: "created", schema: telcoOut },
    refusals: ["telco_code_taken", "telco_identifier_taken"],
    async handle({ principal, body }) {
      const { code, ...fields } = body;
      return telcoReply(await s.tariffs.createTelco(principal, code, fields), 201);
    },
  });
}

function listTelcos(s: AdminServices): AnyRoute {
  return route({
    id: "listTelcos",
    method: "get",
    path: `${API_PREFIX}/telcos`,
    summary: "Telcos",
    tag: "telcos",
    access: READERS,
    success: { status: 200, description: "the telcos", schema: listOf(telcoOut) },
    async handle() {
      return reply({ items: await s.tariffs.listTelcos() });
    },
  });
}

function getTelco(s: AdminServices): AnyRoute {
  return route({
    id: "getTelco",
    method: "get",
    path: telcoPath,
    summary: "A telco",
    tag: "telcos",
    access: READERS,
    params: z.object({ telcoId: uuid }),
    success: { status: 200, description: "the telco", schema: telcoOut },
    refusals: ["telco_not_found"],
    async handle({ params }) {
      const telco = await s.tariffs.getTelco(params.telcoId);
      return telco ? reply(telco) : refuse("telco_not_found");
    },
  });
}

function updateTelco(s: AdminServices): AnyRoute {
  return route({
    id: "updateTelco",
    method: "put",
    path: telcoPath,
    summary: "Rename a telco and replace its identifiers",
    tag: "telcos",
    access: PLATFORM_ONLY,
    params: z.object({ telcoId: uuid }),
    body: z.strictObject(telcoFields),
    success: { status: 200, description: "updated", schema: telcoOut },
    refusals: ["telco_not_found", "telco_identifier_taken"],
    async handle({ principal, params, body }) {
      return telcoReply(await s.tariffs.updateTelco(principal, params.telcoId, body));
    },
  });
}

export function tariffPlanRoutes(s: AdminServices): AnyRoute[] {
  return [createTariffPlan(s), listTariffPlans(s), getTariffPlan(s), updateTariffPlan(s), deleteTariffPlan(s)];
}

function createTariffPlan(s: AdminServices): AnyRoute {
  return route({
    id: "createTariffPlan",
    method: "post",
    path: `${API_PREFIX}/tariff-plans`,
    summary: "Add a telco's tariff plan: charge = min(ceiling, per session + stages × per stage)",
    tag: "tariff-plans",
    access: PLATFORM_ONLY,
    body: z.strictObject({ telcoId: uuid, ...terms }),
    success: { status: 201, description: "created", schema: tariffPlanOut },
    refusals: ["telco_not_found", "effective_from_past", "effective_from_taken", "effective_from_billed"],
    async handle({ principal, body }) {
      const { telcoId, ...rest } = body;
      return planReply(await s.tariffs.createPlan(principal, telcoId, rest), 201);
    },
  });
}

function listTariffPlans(s: AdminServices): AnyRoute {
  return route({
    id: "listTariffPlans",
    method: "get",
    path: `${API_PREFIX}/tariff-plans`,
    summary: "Tariff plans, optionally of one telco, oldest first",
    tag: "tariff-plans",
    access: READERS,
    query: z.strictObject({ telcoId: uuid.optional() }),
    success: { status: 200, description: "the plans", schema: listOf(tariffPlanOut) },
    async handle({ query }) {
      return reply({ items: await s.tariffs.listPlans(query.telcoId) });
    },
  });
}

function getTariffPlan(s: AdminServices): AnyRoute {
  return route({
    id: "getTariffPlan",
    method: "get",
    path: planPath,
    summary: "A tariff plan",
    tag: "tariff-plans",
    access: READERS,
    params: planParams,
    success: { status: 200, description: "the plan", schema: tariffPlanOut },
    refusals: ["tariff_plan_not_found"],
    async handle({ params }) {
      const plan = await s.tariffs.getPlan(params.planId);
      return plan ? reply(plan) : refuse("tariff_plan_not_found");
    },
  });
}

function updateTariffPlan(s: AdminServices): AnyRoute {
  return route({
    id: "updateTariffPlan",
    method: "put",
    path: planPath,
    summary: "Change a tariff plan's terms before it takes effect (after that, only its name: a new price is a new plan)",
    tag: "tariff-plans",
    access: PLATFORM_ONLY,
    params: planParams,
    body: z.strictObject(terms),
    success: { status: 200, description: "updated", schema: tariffPlanOut },
    refusals: ["tariff_plan_not_found", "effective_from_past", "effective_from_taken", "effective_from_billed", "plan_in_use", "plan_in_effect"],
    async handle({ principal, params, body }) {
      return planReply(await s.tariffs.updatePlan(principal, params.planId, body));
    },
  });
}

function deleteTariffPlan(s: AdminServices): AnyRoute {
  return route({
    id: "deleteTariffPlan",
    method: "delete",
    path: planPath,
    summary: "Delete a tariff plan that has not yet taken effect",
    tag: "tariff-plans",
    access: PLATFORM_ONLY,
    params: planParams,
    success: { status: 200, description: "deleted; the plan as it was", schema: tariffPlanOut },
    refusals: ["tariff_plan_not_found", "plan_in_use", "plan_in_effect"],
    async handle({ principal, params }) {
      return planReply(await s.tariffs.deletePlan(principal, params.planId));
    },
  });
}

import { z } from "zod";
import { LANGUAGES } from "../../../core/directory/types.js";
import { systemAccountId } from "../../../core/institutions/system-accounts.js";
import { MAX_LIMIT_UNIT_MINOR } from "../../../core/institutions/institutions.js";
import type { Institution } from "../../../core/institutions/types.js";
import { institutionOut, listOf } from "../responses.js";
import { ANY_BANK_ROLE, API_PREFIX, PLATFORM_ONLY, invalid, refuse, reply, route, type AnyRoute } from "../registry.js";
import { institutionParams, queryInt } from "../schemas.js";
import type { AdminServices } from "../services.js";

const LANGUAGE_PROBLEM = `must be one of ${LANGUAGES.join(", ")}`;
const LIMIT_UNIT_PROBLEM = `must be a decimal string from 1 to ${MAX_LIMIT_UNIT_MINOR}`;
const languageField = z.enum(LANGUAGES).meta({
  description: "Default language of its customers' menus and messages until they choose their own (default en)",
});

const limitUnitField = z
  .string()
  .regex(/^[1-9][0-9]{0,9}$/, LIMIT_UNIT_PROBLEM)
  .refine((v) => !/^[0-9]+$/.test(v) || BigInt(v) <= MAX_LIMIT_UNIT_MINOR, LIMIT_UNIT_PROBLEM)
  .transform((v) => BigInt(v));

const createBody = z.strictObject({
  code: z.string().regex(/^[a-z0-9][a-z0-9-]{1,39}$/, "must be 2-40 lower-case letters, digits or dashes"),
  name: z.string().trim().min(1).max(100),
  currency: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as KES"),
  timezone: z.string().min(1).max(64).meta({ description: "IANA time zone, e.g. Africa/Nairobi" }),
  language: languageField.optional(),
  limitUnitMinor: limitUnitField
    .optional()
    .meta({
      description:
        "minor units of the currency to one unit of the security levels' default limits, the most a bank may allow (default 100: KES 250,000 per transaction at level 3, tier 3); e.g. 2000 for TZS, 65 for INR",
      examples: ["100"],
    }),
});

const languageBody = z.strictObject({ language: languageField });
const limitUnitBody = z.strictObject({
  limitUnitMinor: limitUnitField.meta({ description: "minor units of the currency to one limit unit, e.g. 2000 for TZS", examples: ["2000"] }),
});

/** An institution with the ids of its own accounts, which banks need for reconciliation. */
export function institutionView(i: Institution) {
  return { ...i, accounts: { feeIncome: systemAccountId(i.id, { kind: "fee_income" }), bank: systemAccountId(i.id, { kind: "bank" }) } };
}

export function institutionRoutes(s: AdminServices): AnyRoute[] {
  return [createInstitution(s), listInstitutions(s), getInstitution(s), setInstitutionLanguage(s), setInstitutionLimitUnit(s)];
}

function createInstitution(s: AdminServices): AnyRoute {
  return route({
    id: "createInstitution",
    method: "post",
    path: `${API_PREFIX}/institutions`,
    summary: "Create an institution and open its fee-income and operating accounts",
    tag: "institutions",
    access: PLATFORM_ONLY,
    body: createBody,
    success: { status: 201, description: "created", schema: institutionOut },
    refusals: ["institution_code_taken"],
    async handle({ principal, body }) {
      const result = await s.institutions.create(principal, body);
      if (result.ok) return reply(institutionView(result.institution), 201);
      if (result.code === "invalid_timezone") return invalid([{ path: ["timezone"], message: "must be an IANA time zone such as Africa/Nairobi" }]);
      if (result.code === "invalid_language") return invalid([{ path: ["language"], message: LANGUAGE_PROBLEM }]);
      if (result.code === "invalid_institution") return invalid([{ path: [], message: "invalid institution" }]);
      return refuse(result.code);
    },
  });
}

function listInstitutions(s: AdminServices): AnyRoute {
  return route({
    id: "listInstitutions",
    method: "get",
    path: `${API_PREFIX}/institutions`,
    summary: "List institutions by code",
    tag: "institutions",
    access: PLATFORM_ONLY,
    query: z.strictObject({ limit: queryInt(1, 200).optional(), after: z.string().max(40).optional() }),
    success: { status: 200, description: "a page of institutions", schema: listOf(institutionOut) },
    async handle({ query }) {
      const items = await s.institutions.list(query.limit ?? 50, query.after);
      return reply({ items: items.map(institutionView) });
    },
  });
}

function getInstitution(_s: AdminServices): AnyRoute {
  return route({
    id: "getInstitution",
    method: "get",
    path: `${API_PREFIX}/institutions/{institutionId}`,
    summary: "An institution; a bank sees its own only",
    tag: "institutions",
    access: { roles: ANY_BANK_ROLE, platform: true },
    params: institutionParams,
    success: { status: 200, description: "the institution", schema: institutionOut },
    async handle({ institution }) {
      return reply(institutionView(institution!));
    },
  });
}

function setInstitutionLanguage(s: AdminServices): AnyRoute {
  return route({
    id: "setInstitutionLanguage",
    method: "put",
    path: `${API_PREFIX}/institutions/{institutionId}/language`,
    summary: "Set the default language of an institution's customers (a bank sets its own); customers who chose a language keep theirs",
    tag: "institutions",
    access: { roles: ["admin"], platform: true },
    params: institutionParams,
    body: languageBody,
    success: { status: 200, description: "the institution", schema: institutionOut },
    async handle({ principal, institution, body }) {
      const result = await s.institutions.setLanguage(principal, institution!.id, body.language);
      if (result.ok) return reply(institutionView(result.institution));
      if (result.code === "invalid_language") return invalid([{ path: ["language"], message: LANGUAGE_PROBLEM }]);
      return refuse(result.code);
    },
  });
}

function setInstitutionLimitUnit(s: AdminServices): AnyRoute {
  return route({
    id: "setInstitutionLimitUnit",
    method: "put",
    path: `${API_PREFIX}/institutions/{institutionId}/limit-unit`,
    summary: "Correct an institution's limit unit: the security levels' ceilings, the most its bank may allow, scale with it at once",
    tag: "institutions",
    access: PLATFORM_ONLY,
    params: institutionParams,
    body: limitUnitBody,
    success: { status: 200, description: "the institution", schema: institutionOut },
    async handle({ principal, institution, body }) {
      const result = await s.institutions.setLimitUnit(principal, institution!.id, body.limitUnitMinor);
      if (result.ok) return reply(institutionView(result.institution));
      if (result.code === "invalid_limit_unit") return invalid([{ path: ["limitUnitMinor"], message: LIMIT_UNIT_PROBLEM }]);
      return refuse(result.code);
    },
  });
}

import { z } from "zod";
import { actorOf, type Principal } from "../../../core/access/types.js";
import type { Directory } from "../../../core/directory/directory.js";
import { CUSTOMER_STATUSES, type ActionContext, type Customer, type DirectoryCode, type Outcome } from "../../../core/directory/types.js";
import type { Institution } from "../../../core/institutions/types.js";
import { institutionSimSwaps } from "../../../infra/db/admin-queries.js";
import { isRefusalCode, type RefusalCode } from "../refusals.js";
import { customerOut } from "../responses.js";
import { ANY_BANK_ROLE, API_PREFIX, invalid, refuse, reply, route, type AnyRoute, type Reply } from "../registry.js";
import { institutionParams, queryInt, timestamp, uuid } from "../schemas.js";
import type { AdminServices } from "../services.js";

const CUSTOMER = `${API_PREFIX}/institutions/{institutionId}/customers/{customerId}`;
const customerParams = z.object({ institutionId: uuid, customerId: uuid });
const SUPPORT = { roles: ["admin", "operator"], platform: false } as const;
const ADMIN = { roles: ["admin"], platform: false } as const;
const READERS = { roles: ANY_BANK_ROLE, platform: false };

function context(principal: Principal, institution: Institution): ActionContext {
  return { ...actorOf(principal), channel: "admin", institutionId: institution.id };
}

/** Directory refusals through the one status table; a code it lacks is a request it refuses as invalid. */
function directoryRefusal(code: DirectoryCode): RefusalCode {
  return isRefusalCode(code) ? code : "invalid_request";
}

function customerReply(result: Outcome<Customer>): Reply {
  return result.ok ? reply(result.value) : refuse(directoryRefusal(result.code));
}

/** The customer if it belongs to the institution: another bank's customer does not exist for this one. */
async function ownCustomer(directory: Directory, institution: Institution, customerId: string): Promise<Customer | null> {
  const customer = await directory.getCustomer(customerId);
  return customer && customer.institutionId === institution.id ? customer : null;
}

export function customerRoutes(s: AdminServices): AnyRoute[] {
  return [getCustomer(s), setCustomerKycTier(s), setCustomerStatus(s), unlockCustomerPin(s), resetCustomerPin(s), listSimSwaps(s), reportSimSwap(s)];
}

function getCustomer(s: AdminServices): AnyRoute {
  return route({
    id: "getCustomer",
    method: "get",
    path: CUSTOMER,
    summary: "A customer of the institution",
    tag: "customers",
    access: READERS,
    params: customerParams,
    success: { status: 200, description: "the customer", schema: customerOut },
    refusals: ["customer_not_found", "not_configured"],
    async handle({ institution, params }) {
      if (!s.directory) return refuse("not_configured");
      const customer = await ownCustomer(s.directory, institution!, params.customerId);
      return customer ? reply(customer) : refuse("customer_not_found");
    },
  });
}

function setCustomerKycTier(s: AdminServices): AnyRoute {
  return route({
    id: "setCustomerKycTier",
    method: "put",
    path: `${CUSTOMER}/kyc-tier`,
    summary: "Set the customer's KYC tier after verifying their identity (the tier selects their limits)",
    tag: "customers",
    access: ADMIN,
    params: customerParams,
    body: z.strictObject({ tier: z.number().int().min(0).max(3) }),
    success: { status: 200, description: "the customer", schema: customerOut },
    refusals: ["customer_not_found", "customer_closed", "not_configured"],
    async handle({ principal, institution, params, body }) {
      if (!s.directory) return refuse("not_configured");
      if (!(await ownCustomer(s.directory, institution!, params.customerId))) return refuse("customer_not_found");
      return customerReply(await s.directory.setKycTier(context(principal, institution!), params.customerId, body.tier));
    },
  });
}

function setCustomerStatus(s: AdminServices): AnyRoute {
  return route({
    id: "setCustomerStatus",
    method: "put",
    path: `${CUSTOMER}/status`,
    summary: "Block, unblock or close a customer (closing is final)",
    tag: "customers",
    access: SUPPORT,
    params: customerParams,
    body: z.strictObject({ status: z.enum(CUSTOMER_STATUSES) }),
    success: { status: 200, description: "the customer", schema: customerOut },
    refusals: ["customer_not_found", "customer_closed", "customer_has_balance", "not_configured"],
    async handle({ principal, institution, params, body }) {
      if (!s.directory) return refuse("not_configured");
      if (!(await ownCustomer(s.directory, institution!, params.customerId))) return refuse("customer_not_found");
      return customerReply(await s.directory.setStatus(context(principal, institution!), params.customerId, body.status));
    },
  });
}

function unlockCustomerPin(s: AdminServices): AnyRoute {
  return route({
    id: "unlockCustomerPin",
    method: "post",
    path: `${CUSTOMER}/pin/unlock`,
    summary: "Unlock a PIN locked by wrong attempts",
    tag: "customers",
    access: SUPPORT,
    params: customerParams,
    success: { status: 200, description: "unlocked", schema: z.object({ wasLocked: z.boolean() }) },
    refusals: ["customer_not_found", "pin_not_set", "not_configured"],
    async handle({ principal, institution, params }) {
      if (!s.directory || !s.pins) return refuse("not_configured");
      if (!(await ownCustomer(s.directory, institution!, params.customerId))) return refuse("customer_not_found");
      const result = await s.pins.unlockPin({ actor: actor(principal), channel: "admin", subjectId: params.customerId });
      return result.ok ? reply({ wasLocked: result.wasLocked }) : refuse(isRefusalCode(result.code) ? result.code : "invalid_request");
    },
  });
}

function resetCustomerPin(s: AdminServices): AnyRoute {
  return route({
    id: "resetCustomerPin",
    method: "post",
    path: `${CUSTOMER}/pin/reset`,
    summary: "Set a new PIN (or the first, for a customer who has none) for a customer whose identity the bank has checked in person",
    tag: "customers",
    access: ADMIN,
    params: customerParams,
    body: z.strictObject({ newPin: z.string().regex(/^[0-9]{4,6}$/, "must be 4 to 6 digits") }),
    success: { status: 204, description: "reset" },
    refusals: ["customer_not_found", "pin_not_set", "pin_already_set", "pin_weak", "sim_swap_cooling", "not_configured"],
    async handle({ principal, institution, params, body }) {
      if (!s.directory || !s.pins) return refuse("not_configured");
      const customer = await ownCustomer(s.directory, institution!, params.customerId);
      if (!customer) return refuse("customer_not_found");
      // The number lets a reset set the first PIN of a customer who has none.
      const result = await s.pins.resetPin({ actor: actor(principal), channel: "admin", subjectId: customer.id, newPin: body.newPin, msisdn: customer.msisdn });
      if (result.ok) return { ok: true, status: 204 };
      if (result.code === "pin_weak" || result.code === "pin_invalid") return refuse(result.code, [{ path: "body.newPin", message: result.reason }]);
      if (result.code === "sim_swap_cooling") return refuse(result.code, [{ path: "customerId", message: `cooling ends at ${result.endsAt.toISOString()}` }]);
      return refuse(isRefusalCode(result.code) ? result.code : "invalid_request");
    },
  });
}

const actor = (principal: Principal) => {
  const a = actorOf(principal);
  return { type: a.actorType, id: a.actorId };
};

const SIM_SWAPS = `${API_PREFIX}/institutions/{institutionId}/sim-swaps`;

function listSimSwaps(s: AdminServices): AnyRoute {
  return route({
    id: "listSimSwaps",
    method: "get",
    path: SIM_SWAPS,
    summary: "SIM swaps and recycled numbers reported for the institution's customers and agents, newest first",
    tag: "customers",
    access: READERS,
    params: institutionParams,
    query: z.strictObject({
      since: timestamp.optional(),
      limit: queryInt(1, 500).optional(),
      before: uuid.optional().meta({ description: "the nextBefore of the previous page" }),
    }),
    success: { status: 200, description: "a page of reports; nextBefore asks for the next one (null: this was the last)" },
    async handle({ institution, query }) {
      const limit = query.limit ?? 100;
      const items = await institutionSimSwaps(s.db, institution!.id, { since: query.since ?? null, limit, before: query.before });
      if (items === null) return invalid([{ path: ["before"], message: "names no report of this institution: use the nextBefore of a page" }], "query");
      return reply({ items, nextBefore: items.length === limit ? items[items.length - 1]!.id : null });
    },
  });
}

function reportSimSwap(s: AdminServices): AnyRoute {
  return route({
    id: "reportSimSwap",
    method: "post",
    path: SIM_SWAPS,
    summary: "Report a SIM swap or recycled number of a customer or agent: large payments, cash-ins and PIN resets wait out a cooling period (customer_not_found: the number is neither's)",
    tag: "customers",
    access: SUPPORT,
    params: institutionParams,
    body: z.strictObject({ msisdn: z.string().regex(/^\+[1-9][0-9]{6,14}$/, "must be E.164, e.g. +254712345678"), kind: z.enum(["sim_swap", "number_recycled"]), occurredAt: timestamp.optional() }),
    success: { status: 201, description: "recorded" },
    refusals: ["customer_not_found", "invalid_time", "not_configured"],
    async handle({ principal, institution, body }) {
      if (!s.directory || !s.simSwaps) return refuse("not_configured");
      // A customer's or an agent's number: cash-in and an agent's PIN reset check the agent's.
      const [customer, agent] = await Promise.all([
        s.directory.findCustomerByMsisdn(body.msisdn),
        s.agents ? s.agents.findByMsisdn(body.msisdn, institution!.id) : null,
      ]);
      const msisdn = customer.ok && customer.value.institutionId === institution!.id ? customer.value.msisdn : agent?.msisdn;
      if (msisdn === undefined) return refuse("customer_not_found");
      // The stored number, not the body's spelling of it: the checks look that one up.
      const result = await s.simSwaps.report({ actor: actor(principal), channel: "admin", msisdn, kind: body.kind, occurredAt: body.occurredAt });
      if (!result.ok) return refuse(isRefusalCode(result.code) ? result.code : "invalid_request");
      return reply({ event: result.event, coolingEndsAt: result.coolingEndsAt }, 201);
    },
  });
}

import { z } from "zod";
import { actorOf, type Principal } from "../../../core/access/types.js";
import type { Agent, AgentActor } from "../../../core/agents/types.js";
import type { Institution } from "../../../core/institutions/types.js";
import { isRefusalCode } from "../refusals.js";
import { ANY_BANK_ROLE, API_PREFIX, refuse, reply, route, type AnyRoute, type Reply } from "../registry.js";
import { institutionParams, queryInt, uuid } from "../schemas.js";
import type { AdminServices } from "../services.js";
import { listOf } from "../responses.js";
import {
  agentDetailOut,
  agentOut,
  agentRefusal,
  deviceKeyOut,
  floatBody,
  floatReceiptOut,
  limitsBody,
  onboardBody,
  reversalOut,
  statementOut,
} from "./agents-shapes.js";

const AGENTS = `${API_PREFIX}/institutions/{institutionId}/agents`;
const AGENT = `${AGENTS}/{agentId}`;
const agentParams = z.object({ institutionId: uuid, agentId: uuid });
const READERS = { roles: ANY_BANK_ROLE, platform: false };
const ADMIN = { roles: ["admin"], platform: false } as const;
const SUPPORT = { roles: ["admin", "operator"], platform: false } as const;
const TAG = "agents";

const actor = (p: Principal): AgentActor => {
  const a = actorOf(p);
  return { type: a.actorType, id: a.actorId };
};

/** The agent if it belongs to the institution: another bank's agent does not exist for this one. */
async function ownAgent(s: AdminServices, institution: Institution, agentId: string): Promise<Agent | null> {
  const agent = await s.agents!.get(agentId);
  return agent && agent.institutionId === institution.id ? agent : null;
}

/** Runs fn with the institution's agent, or answers 501/404. */
async function withAgent(s: AdminServices, institution: Institution | null, agentId: string, fn: (agent: Agent) => Promise<Reply>): Promise<Reply> {
  if (!s.agents) return refuse("not_configured");
  const agent = await ownAgent(s, institution!, agentId);
  return agent ? fn(agent) : refuse("agent_not_found");
}

export function agentRoutes(s: AdminServices): AnyRoute[] {
  return [
    onboardAgent(s), listAgents(s), getAgent(s), setAgentStatus(s), setAgentLimits(s), topUpFloat(s), withdrawFloat(s),
    agentStatement(s), reverseCashIn(s), issueDeviceKey(s), listDeviceKeys(s), revokeDeviceKey(s), unlockAgentPin(s), resetAgentPin(s),
  ];
}

function onboardAgent(s: AdminServices): AnyRoute {
  return route({
    id: "onboardAgent", method: "post", path: AGENTS, tag: TAG, access: ADMIN,
    summary: "Onboard an agent: opens its float and commission accounts and sets its first PIN",
    params: institutionParams, body: onboardBody,
    success: { status: 201, description: "the agent", schema: agentOut },
    refusals: ["agent_exists", "store_number_taken", "invalid_msisdn", "invalid_store_number", "pin_invalid", "not_configured"],
    async handle({ principal, institution, body }) {
      if (!s.agents) return refuse("not_configured");
      const made = await s.agents.onboard({ ...body, institutionId: institution!.id, actor: actor(principal) });
      return made.ok ? reply(made.agent, 201) : agentRefusal(made);
    },
  });
}

function listAgents(s: AdminServices): AnyRoute {
  return route({
    id: "listAgents", method: "get", path: AGENTS, tag: TAG, access: READERS,
    summary: "The institution's agents, by id; page with ?after=<last id>",
    params: institutionParams, query: z.object({ limit: queryInt(1, 100).optional(), after: uuid.optional() }),
    success: { status: 200, description: "a page of agents", schema: listOf(agentOut) },
    refusals: ["not_configured"],
    async handle({ institution, query }) {
      if (!s.agents) return refuse("not_configured");
      return reply({ items: await s.agents.list(institution!.id, { limit: query.limit, afterId: query.after }) });
    },
  });
}

function getAgent(s: AdminServices): AnyRoute {
  return route({
    id: "getAgent", method: "get", path: AGENT, tag: TAG, access: READERS,
    summary: "An agent with its float and commission balances",
    params: agentParams,
    success: { status: 200, description: "the agent", schema: agentDetailOut },
    refusals: ["agent_not_found", "not_configured"],
    handle: ({ institution, params }) =>
      withAgent(s, institution, params.agentId, async (agent) => {
        const float = await s.agents!.floatBalance(agent.id);
        const commission = await s.agents!.commissionEarned(agent.id);
        return reply({ ...agent, floatBalanceMinor: float.ok ? float.balanceMinor : 0n, commissionBalanceMinor: commission.ok ? commission.balanceMinor : 0n });
      }),
  });
}

function setAgentStatus(s: AdminServices): AnyRoute {
  return route({
    id: "setAgentStatus", method: "put", path: `${AGENT}/status`, tag: TAG, access: SUPPORT,
    summary: "Suspend, reactivate or close an agent (a suspended agent cannot transact; its float may still be withdrawn)",
    params: agentParams, body: z.strictObject({ status: z.enum(["active", "suspended", "closed"]) }),
    success: { status: 200, description: "the agent", schema: agentOut },
    refusals: ["agent_not_found", "agent_has_balance", "not_configured"],
    handle: ({ principal, institution, params, body }) =>
      withAgent(s, institution, params.agentId, async (agent) => {
        const done = await s.agents!.setStatus(agent.id, body.status, actor(principal), institution!.id);
        return done.ok ? reply(done.agent) : agentRefusal(done);
      }),
  });
}

function setAgentLimits(s: AdminServices): AnyRoute {
  return route({
    id: "setAgentLimits", method: "put", path: `${AGENT}/limits`, tag: TAG, access: ADMIN,
    summary: "Set the agent's own limits (per transaction, daily float out, daily float in, daily count per direction, float ceiling); omitted fields stay",
    params: agentParams, body: limitsBody,
    success: { status: 200, description: "the agent", schema: agentOut },
    refusals: ["agent_not_found", "not_configured"],
    handle: ({ principal, institution, params, body }) =>
      withAgent(s, institution, params.agentId, async (agent) => {
        const done = await s.agents!.setLimits(agent.id, body, actor(principal), institution!.id);
        return done.ok ? reply(done.agent) : agentRefusal(done);
      }),
  });
}

function floatRoute(s: AdminServices, direction: "top_up" | "withdraw"): AnyRoute {
  const topUp = direction === "top_up";
  return route({
    id: topUp ? "topUpAgentFloat" : "withdrawAgentFloat", method: "post", path: `${AGENT}/float/${topUp ? "top-ups" : "withdrawals"}`, tag: TAG, access: ADMIN,
    summary: topUp ? "Move e-money from the institution's settlement account to the agent's float" : "Move e-money from the agent's float back to the settlement account",
    params: agentParams, body: floatBody,
    success: { status: 201, description: "the movement (replayed: true when the request id was seen before)", schema: floatReceiptOut },
    refusals: ["agent_not_found", "agent_unavailable", "bank_account_unavailable", "insufficient_float", "float_limit_exceeded", "request_id_reused", "not_configured"],
    handle: ({ principal, institution, params, body }) =>
      withAgent(s, institution, params.agentId, async (agent) => {
        const input = { id: body.requestId, agentId: agent.id, amountMinor: body.amountMinor, reference: body.reference, actor: actor(principal) };
        const done = topUp ? await s.agents!.topUpFloat(input) : await s.agents!.withdrawFloat(input);
        return done.ok ? reply({ ...done, ok: undefined }, done.replayed ? 200 : 201) : agentRefusal(done);
      }),
  });
}

const topUpFloat = (s: AdminServices) => floatRoute(s, "top_up");
const withdrawFloat = (s: AdminServices) => floatRoute(s, "withdraw");

function agentStatement(s: AdminServices): AnyRoute {
  return route({
    id: "getAgentStatement", method: "get", path: `${AGENT}/statement`, tag: TAG, access: READERS,
    summary: "The agent float's transfers, newest first; page with ?beforeSeq=<nextBeforeSeq>",
    params: agentParams, query: z.object({ limit: queryInt(1, 100).optional(), beforeSeq: z.string().regex(/^[0-9]{1,18}$/).transform(BigInt).optional() }),
    success: { status: 200, description: "a page of the statement", schema: statementOut },
    refusals: ["agent_not_found", "not_configured"],
    handle: ({ institution, params, query }) =>
      withAgent(s, institution, params.agentId, async (agent) => {
        const page = await s.agents!.statement(agent.id, { limit: query.limit, beforeSeq: query.beforeSeq });
        if (!page.ok) return agentRefusal(page);
        const items = page.transfers.map((t) => ({
          id: t.id, seq: String(t.seq ?? ""), kind: t.kind, code: t.code, amountMinor: t.amountMinor,
          direction: t.creditAccountId === agent.floatAccountId ? "in" : "out",
          counterpartyAccountId: t.creditAccountId === agent.floatAccountId ? t.debitAccountId : t.creditAccountId,
          pendingId: t.pendingId, reference: t.reference, createdAt: t.createdAt,
        }));
        const last = page.transfers.at(-1);
        const full = page.transfers.length === (query.limit ?? 50);
        return reply({ items, nextBeforeSeq: full && last?.seq !== undefined ? String(last.seq) : null });
      }),
  });
}

function reverseCashIn(s: AdminServices): AnyRoute {
  return route({
    id: "reverseAgentCashIn", method: "post", path: `${AGENTS}/cash-ins/{transferId}/reversal`, tag: TAG, access: ADMIN,
    summary: "Reverse a mistaken cash-in with a compensating transfer (amount back to the float, fee to the customer, commission clawed back); once only",
    params: z.object({ institutionId: uuid, transferId: uuid }), body: z.strictObject({ reason: z.string().min(1).max(200) }),
    success: { status: 201, description: "the compensating transfers", schema: reversalOut },
    refusals: ["transfer_not_found", "not_a_cash_in", "already_reversed", "customer_funds_spent", "customer_not_active", "commission_paid_out", "float_limit_exceeded", "agent_unavailable", "bank_account_unavailable", "not_configured"],
    async handle({ principal, institution, params, body }) {
      if (!s.agents) return refuse("not_configured");
      const done = await s.agents.reverseCashIn({ transferId: params.transferId, reason: body.reason, actor: actor(principal), institutionId: institution!.id });
      return done.ok ? reply({ ...done, ok: undefined }, 201) : agentRefusal(done);
    },
  });
}

function issueDeviceKey(s: AdminServices): AnyRoute {
  return route({
    id: "issueAgentDeviceKey", method: "post", path: `${AGENT}/device-keys`, tag: TAG, access: ADMIN,
    summary: "Issue a key for the agent's point-of-sale app (/agent/v1); the secret is shown once",
    params: agentParams, body: z.strictObject({ name: z.string().min(1).max(64) }),
    success: { status: 201, description: "the key and its secret", schema: z.object({ key: deviceKeyOut, secret: z.string() }) },
    refusals: ["agent_not_found", "agent_unavailable", "too_many_keys", "not_configured"],
    async handle({ principal, institution, params, body }) {
      if (!s.agentKeys) return refuse("not_configured");
      const done = await s.agentKeys.issue(params.agentId, institution!.id, body.name, actor(principal));
      if (done.ok) return reply({ key: done.key, secret: done.secret }, 201);
      return done.code === "invalid_name" ? refuse("invalid_request", [{ path: "body.name", message: "1 to 64 characters" }]) : refuse(done.code);
    },
  });
}

function listDeviceKeys(s: AdminServices): AnyRoute {
  return route({
    id: "listAgentDeviceKeys", method: "get", path: `${AGENT}/device-keys`, tag: TAG, access: READERS,
    summary: "The agent's device keys, newest first, revoked ones included",
    params: agentParams,
    success: { status: 200, description: "the keys (never their secrets)", schema: listOf(deviceKeyOut) },
    refusals: ["agent_not_found", "not_configured"],
    async handle({ institution, params }) {
      if (!s.agentKeys) return refuse("not_configured");
      const keys = await s.agentKeys.list(params.agentId, institution!.id);
      return keys ? reply({ items: keys }) : refuse("agent_not_found");
    },
  });
}

function revokeDeviceKey(s: AdminServices): AnyRoute {
  return route({
    id: "revokeAgentDeviceKey", method: "delete", path: `${AGENT}/device-keys/{keyId}`, tag: TAG, access: ADMIN,
    summary: "Revoke a device key: the app using it is refused from the next request",
    params: z.object({ institutionId: uuid, agentId: uuid, keyId: uuid }),
    success: { status: 200, description: "the key as revoked", schema: deviceKeyOut },
    refusals: ["device_key_not_found", "not_configured"],
    async handle({ principal, institution, params }) {
      if (!s.agentKeys) return refuse("not_configured");
      const key = await s.agentKeys.revoke(params.agentId, institution!.id, params.keyId, actor(principal));
      return key ? reply(key) : refuse("device_key_not_found");
    },
  });
}

function unlockAgentPin(s: AdminServices): AnyRoute {
  return route({
    id: "unlockAgentPin", method: "post", path: `${AGENT}/pin/unlock`, tag: TAG, access: SUPPORT,
    summary: "Unlock an agent's PIN locked by wrong attempts",
    params: agentParams, body: z.strictObject({}),
    success: { status: 200, description: "unlocked", schema: z.object({ wasLocked: z.boolean() }) },
    refusals: ["agent_not_found", "pin_not_set", "not_configured"],
    handle: ({ principal, institution, params }) =>
      withAgent(s, institution, params.agentId, async (agent) => {
        if (!s.pins) return refuse("not_configured");
        const a = actorOf(principal);
        const result = await s.pins.unlockPin({ actor: { type: a.actorType, id: a.actorId }, channel: "admin", subjectId: agent.id });
        return result.ok ? reply({ wasLocked: result.wasLocked }) : refuse(isRefusalCode(result.code) ? result.code : "invalid_request");
      }),
  });
}

function resetAgentPin(s: AdminServices): AnyRoute {
  return route({
    id: "resetAgentPin", method: "post", path: `${AGENT}/pin/reset`, tag: TAG, access: ADMIN,
    summary: "Set a new PIN for an agent whose identity the bank has checked",
    params: agentParams, body: z.strictObject({ newPin: z.string().regex(/^[0-9]{4,6}$/, "must be 4 to 6 digits") }),
    success: { status: 204, description: "reset" },
    refusals: ["agent_not_found", "pin_not_set", "pin_weak", "sim_swap_cooling", "not_configured"],
    handle: ({ principal, institution, params, body }) =>
      withAgent(s, institution, params.agentId, async (agent) => {
        if (!s.pins) return refuse("not_configured");
        const a = actorOf(principal);
        const result = await s.pins.resetPin({ actor: { type: a.actorType, id: a.actorId }, channel: "admin", subjectId: agent.id, newPin: body.newPin });
        if (result.ok) return { ok: true, status: 204 };
        if (result.code === "pin_weak" || result.code === "pin_invalid") return refuse(result.code, [{ path: "body.newPin", message: result.reason }]);
        return refuse(isRefusalCode(result.code) ? result.code : "invalid_request");
      }),
  });
}

import { z } from "zod";
import type { Agents } from "../../core/agents/agents.js";
import { AGENT_STATUSES, CASH_OUT_STATES, type AgentRefusal, type AgentResult, type PendingCashOut } from "../../core/agents/types.js";
import { amountMinor, amountOut, uuid } from "../admin/schemas.js";
import { AGENT_API_PREFIX as P, agentRoute, ok, type AgentReply, type AnyAgentRoute } from "./registry.js";

const time = z.string().meta({ format: "date-time" });
const customer = z.string().min(1).max(64).meta({ description: "the customer's phone number (any usual form) or pseudonym" });
const pin = z.string().regex(/^[0-9]{4,6}$/, "must be 4 to 6 digits").meta({ description: "the agent's PIN; verified, never stored or logged" });
const requestId = uuid.meta({ description: "chosen by the app for each new operation; a retry with the same id moves money once" });

const balanceOut = z.object({ balanceMinor: amountOut, currency: z.string() });
const receiptOut = z
  .object({
    transferId: z.string(), customerId: z.string(), maskedName: z.string(), amountMinor: amountOut, feeMinor: amountOut,
    commissionMinor: amountOut, currency: z.string(), replayed: z.boolean(),
  })
  .meta({ title: "CashInReceipt" });
const cashOutOut = z
  .object({
    pendingId: z.string(), customerId: z.string(), amountMinor: amountOut, feeMinor: amountOut, commissionMinor: amountOut, currency: z.string(),
    state: z.enum(CASH_OUT_STATES), expiresAt: time, createdAt: time,
  })
  .meta({ title: "CashOut" });

function refusal(r: AgentRefusal): AgentReply {
  if (r.code === "invalid_input") return { ok: false, code: "invalid_input", details: (r.problems ?? []).map((p) => ({ path: p.path.join("."), message: p.message })) };
  return { ok: false, code: r.code, availableMinor: r.availableMinor, until: r.until };
}

function answer<T extends object>(result: AgentResult<T>, status = 200, shape: (v: T) => unknown = (v) => v): AgentReply {
  if (!result.ok) return refusal(result);
  const { ok: _ok, ...rest } = result as { ok: true } & T;
  return ok(shape(rest as T), status);
}

const cashOutView = (p: PendingCashOut) => ({
  pendingId: p.pendingId, customerId: p.customerId, amountMinor: p.amountMinor, feeMinor: p.feeMinor, commissionMinor: p.commissionMinor,
  currency: p.currency, state: p.state, expiresAt: p.expiresAt, createdAt: p.createdAt,
});

/** The agent point-of-sale API: every operation of the agent USSD menu, for an app. */
export function agentApiRoutes(agents: Agents): AnyAgentRoute[] {
  return [
    agentRoute({
      id: "getAgentSelf", method: "get", path: `${P}/me`, summary: "The agent this device key belongs to",
      success: { status: 200, description: "the agent", schema: z.object({ id: z.string(), name: z.string(), storeNumber: z.string(), msisdn: z.string(), location: z.string(), status: z.enum(AGENT_STATUSES) }) },
      handle: async ({ agent }) => ok({ id: agent.id, name: agent.name, storeNumber: agent.storeNumber, msisdn: agent.msisdn, location: agent.location, status: agent.status }),
    }),
    agentRoute({
      id: "lookupCustomer", method: "get", path: `${P}/customers/lookup`, summary: "A customer's masked name, to confirm before taking cash",
      query: z.object({ customer }),
      success: { status: 200, description: "the masked name", schema: z.object({ maskedName: z.string() }) },
      refusals: ["customer_not_found", "customer_unavailable", "agent_unavailable", "self_transaction"],
      handle: async ({ agent, query }) => answer(await agents.lookupCustomer(agent.id, query.customer)),
    }),
    agentRoute({
      id: "quoteCashIn", method: "get", path: `${P}/cash-ins/quote`, summary: "What a cash-in would cost the customer and earn the agent",
      query: z.object({ customer, amountMinor }),
      success: { status: 200, description: "the quote", schema: z.object({ maskedName: z.string(), amountMinor: amountOut, feeMinor: amountOut, commissionMinor: amountOut, currency: z.string() }) },
      refusals: ["customer_not_found", "agent_unavailable", "invalid_amount", "amount_outside_fee_bands", "per_transaction_exceeded"],
      // No customer id before the agent's PIN: a device key alone must not map numbers to customers.
      handle: async ({ agent, query }) =>
        answer(await agents.quoteCashIn(agent.id, query.customer, query.amountMinor), 200, (q) => ({
          maskedName: q.maskedName, amountMinor: q.amountMinor, feeMinor: q.feeMinor, commissionMinor: q.commissionMinor, currency: q.currency,
        })),
    }),
    agentRoute({
      id: "cashIn", method: "post", path: `${P}/cash-ins`, summary: "Cash-in: the float pays the customer's wallet; receipts go to both",
      body: z.strictObject({ requestId, customer, amountMinor, pin, quotedFeeMinor: amountMinor.optional().meta({ description: "the fee the quote showed (optional): a fee changed since is refused as fee_changed" }) }),
      success: { status: 201, description: "the receipt (200 with replayed: true for a retry)", schema: receiptOut },
      refusals: ["customer_not_found", "customer_unavailable", "agent_unavailable", "bank_account_unavailable", "insufficient_float", "pin_wrong", "pin_locked", "sim_swap_cooling", "per_transaction_exceeded", "daily_amount_exceeded", "daily_count_exceeded", "balance_limit_exceeded", "request_id_reused", "request_abandoned", "amount_outside_fee_bands", "fee_changed"],
      async handle({ agent, body }) {
        const done = await agents.cashIn({ id: body.requestId, agentId: agent.id, customerQuery: body.customer, amountMinor: body.amountMinor, agentPin: body.pin, channel: "agent", quotedFeeMinor: body.quotedFeeMinor });
        return answer(done, done.ok && done.replayed ? 200 : 201, ({ agentId: _a, ...r }) => r);
      },
    }),
    agentRoute({
      id: "startCashOut", method: "post", path: `${P}/cash-outs`, summary: "Cash-out: hold the amount and fee on the customer's wallet until they approve with their PIN",
      body: z.strictObject({ requestId, customer, amountMinor, pin, timeoutSec: z.number().int().min(30).max(3600).optional() }),
      success: { status: 201, description: "the cash-out awaiting the customer", schema: cashOutOut },
      // The customer's own limits (daily_*, monthly_*, and per_transaction_exceeded without an amount) come without their room.
      refusals: ["customer_not_found", "customer_unavailable", "agent_unavailable", "bank_account_unavailable", "insufficient_funds", "pin_wrong", "pin_locked", "sim_swap_cooling", "too_many_pending", "cash_outs_declined", "float_limit_exceeded", "per_transaction_exceeded", "daily_amount_exceeded", "daily_count_exceeded", "monthly_amount_exceeded", "request_id_reused", "pending_expired"],
      async handle({ agent, body }) {
        const done = await agents.startCashOut({ id: body.requestId, agentId: agent.id, customerQuery: body.customer, amountMinor: body.amountMinor, agentPin: body.pin, timeoutSec: body.timeoutSec, channel: "agent" });
        return answer(done, done.ok && done.replayed ? 200 : 201, (r) => cashOutView(r.pending));
      },
    }),
    agentRoute({
      id: "getCashOut", method: "get", path: `${P}/cash-outs/{pendingId}`, summary: "A cash-out's state: pending, approved, declined, expired, refused (the customer's funds, limits or account) or cancelled (approved, but an account of the agent's or the bank's could not move: nothing paid)",
      params: z.object({ pendingId: uuid }),
      success: { status: 200, description: "the cash-out", schema: cashOutOut },
      refusals: ["pending_not_found"],
      async handle({ agent, params }) {
        const status = await agents.cashOutStatus(params.pendingId);
        return status && status.agentId === agent.id ? ok(cashOutView(status)) : { ok: false, code: "pending_not_found" };
      },
    }),
    agentRoute({
      id: "getFloat", method: "get", path: `${P}/float`, summary: "The float balance",
      success: { status: 200, description: "the balance", schema: balanceOut },
      handle: async ({ agent }) => answer(await agents.floatBalance(agent.id)),
    }),
    agentRoute({
      id: "getTodaysTransactions", method: "get", path: `${P}/transactions/today`, summary: "The float's movements since the start of the local day, newest first",
      query: z.object({ limit: z.string().regex(/^[0-9]{1,2}$/).transform(Number).pipe(z.number().int().min(1).max(50)).optional() }),
      success: {
        status: 200,
        description: "the newest movements (up to limit) and how many there were today",
        schema: z.object({ items: z.array(z.object({ transferId: z.string(), code: z.string(), direction: z.enum(["in", "out"]), amountMinor: amountOut, kind: z.string(), createdAt: time })), count: z.number().int() }),
      },
      handle: async ({ agent, query }) => answer(await agents.todaysTransactions(agent.id, query.limit ?? 10), 200, (r) => ({ items: r.transactions, count: r.count })),
    }),
    agentRoute({
      id: "getCommission", method: "get", path: `${P}/commission`, summary: "Commission earned and not yet paid out",
      success: { status: 200, description: "the balance", schema: balanceOut },
      handle: async ({ agent }) => answer(await agents.commissionEarned(agent.id)),
    }),
  ];
}

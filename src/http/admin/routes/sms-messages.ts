/**
 * Outbound SMS (the outbox) for the platform operator: one message's delivery state, a page of
 * messages by number or state, and the count per state. Bodies are not stored, only the template
 * and its parameters, which never include a PIN.
 */
import { z } from "zod";
import { OUTBOX_STATES, SqlOutboxDeliveryStore, type OutboxMessageView } from "../../../infra/db/outbox-delivery-store.js";
import { API_PREFIX, PLATFORM_ONLY, refuse, reply, route, type AnyRoute } from "../registry.js";
import { queryInt, uuid } from "../schemas.js";
import type { AdminServices } from "../services.js";

const PATH = `${API_PREFIX}/sms/messages`;

const messageOut = z
  .object({
    id: z.string(),
    seq: z.string(),
    transferId: z.string().nullable().meta({ description: "the transfer whose acceptance wrote it; null for other events" }),
    institutionId: z.string().nullable().meta({
      description: "the bank the message is about, as its writer stored it: only that bank's links carry it; null for a message written before banks were stored (the relay infers its bank)",
    }),
    msisdn: z.string(),
    template: z.string().meta({ description: "key in locales/<lng>/sms.json" }),
    kind: z.enum(["receipt", "notice", "prompt"]),
    language: z.string().nullable(),
    state: z.enum(OUTBOX_STATES as [string, ...string[]]).meta({
      description: "pending → queued → submitted → delivered | failed | expired; failed (refused, unroutable), dead (retries exhausted), suppressed (STOP)",
    }),
    linkId: z.string().nullable(),
    partCount: z.number().nullable(),
    smscMessageIds: z.array(z.string().nullable()).meta({ description: "the SMSC's id per part; null: not yet accepted" }),
    receiptStats: z.array(z.string().nullable()).meta({ description: "final delivery receipt stat per part (DELIVRD …)" }),
    attempts: z.number(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    queuedAt: z.string().nullable(),
    submittedAt: z.string().nullable(),
    doneAt: z.string().nullable(),
  })
  .meta({ title: "SmsMessage" });

const pageQuery = z.strictObject({
  msisdn: z.string().regex(/^\+[1-9][0-9]{6,14}$/, "must be E.164 with +").optional(),
  state: z.enum(OUTBOX_STATES as [string, ...string[]]).optional(),
  before: z.string().regex(/^[1-9][0-9]{0,18}$/, "must be a sequence number").transform(BigInt).optional()
    .meta({ description: "the nextBefore of the previous page" }),
  limit: queryInt(1, 200).optional(),
});

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

function toJson(m: OutboxMessageView) {
  return { ...m, createdAt: m.createdAt.toISOString(), queuedAt: iso(m.queuedAt), submittedAt: iso(m.submittedAt), doneAt: iso(m.doneAt) };
}

export function smsMessageRoutes(s: AdminServices): AnyRoute[] {
  const store = new SqlOutboxDeliveryStore(s.db);
  return [
    route({
      id: "listSmsMessages",
      method: "get",
      path: PATH,
      summary: "Outbound SMS messages, newest first, by number and/or state",
      tag: "sms-messages",
      access: PLATFORM_ONLY,
      query: pageQuery,
      success: { status: 200, description: "a page", schema: z.object({ items: z.array(messageOut), nextBefore: z.string().nullable() }) },
      async handle({ query }) {
        const limit = query.limit ?? 50;
        const items = await store.list({ msisdn: query.msisdn, state: query.state as OutboxMessageView["state"] | undefined, beforeSeq: query.before, limit });
        return reply({ items: items.map(toJson), nextBefore: items.length === limit ? items[items.length - 1]!.seq : null });
      },
    }),
    route({
      id: "countSmsMessagesByState",
      method: "get",
      path: `${PATH}/states`,
      summary: "How many outbound SMS messages are in each state (pending and queued: the backlog)",
      tag: "sms-messages",
      access: PLATFORM_ONLY,
      success: { status: 200, description: "count per state", schema: z.record(z.string(), z.number()) },
      async handle() {
        const counts = await store.countByState();
        return reply(Object.fromEntries(OUTBOX_STATES.map((state) => [state, counts[state] ?? 0])));
      },
    }),
    route({
      id: "getSmsMessage",
      method: "get",
      path: `${PATH}/{messageId}`,
      summary: "One outbound SMS message and its delivery state",
      tag: "sms-messages",
      access: PLATFORM_ONLY,
      params: z.object({ messageId: uuid }),
      success: { status: 200, description: "the message", schema: messageOut },
      refusals: ["not_found"],
      async handle({ params }) {
        const message = await store.get(params.messageId);
        return message ? reply(toJson(message)) : refuse("not_found");
      },
    }),
  ];
}

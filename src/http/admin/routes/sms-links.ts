import { isIP } from "node:net";
/**
 * SMPP links to telcos (platform operator only): configuration CRUD, passwords write-only, and
 * each running link's state. Changes apply at once (the link manager restarts the link).
 */
import { z } from "zod";
import { actorOf } from "../../../core/access/types.js";
import type { LinkAdminResult } from "../../../sms/links/link-admin.js";
import { USSD_DEFAULTS } from "../../../sms/links/types.js";
import { listOf } from "../responses.js";
import { API_PREFIX, PLATFORM_ONLY, invalid, refuse, reply, route, type AnyRoute, type Reply } from "../registry.js";
import { uuid } from "../schemas.js";
import type { AdminServices } from "../services.js";

const linkId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, "must be 1-32 lower-case letters, digits or dashes");
const ascii = (max: number) => z.string().regex(new RegExp(`^[\\x21-\\x7e]{1,${max}}$`), `must be 1-${max} printable ASCII characters without spaces`);
const address = z.string().regex(/^[A-Za-z0-9*#+]{1,20}$/, "must be 1-20 letters, digits, * # or +");
const prefix = z.string().regex(/^\+[0-9]{1,14}$/, "must be + and 1-14 digits");
const ops = z.array(z.number().int().min(0).max(255)).max(8);

const ussdIn = z.strictObject({
  serviceCode: z.string().regex(/^\*[0-9*]{1,20}#$/, "must be a dial string such as *384#"),
  beginOps: ops.default(USSD_DEFAULTS.beginOps),
  continueOps: ops.default(USSD_DEFAULTS.continueOps),
  abortOps: ops.default(USSD_DEFAULTS.abortOps),
  continueReplyOp: z.number().int().min(0).max(255).default(USSD_DEFAULTS.continueReplyOp),
  endReplyOp: z.number().int().min(0).max(255).default(USSD_DEFAULTS.endReplyOp),
  sessionField: z.enum(["its_session_info", "user_message_reference"]).default(USSD_DEFAULTS.sessionField),
  gsmDataCoding: z.union([z.literal(0), z.literal(15)]).default(USSD_DEFAULTS.gsmDataCoding),
});

const fields = {
  institutionId: uuid.meta({ description: "the bank whose customers this link serves" }),
  enabled: z.boolean().default(true),
  systemId: ascii(15).meta({ description: "server: the telco binds with it; client: we bind with it" }),
  systemType: z.string().regex(/^[\x20-\x7e]{0,12}$/).default(""),
  host: z.string().min(1).max(253).nullable().default(null).meta({ description: "client mode: the SMSC's host" }),
  port: z.number().int().min(1).max(65_535).nullable().default(null),
  maxBinds: z.number().int().min(1).max(64).default(1).meta({ description: "server mode: sessions the telco may hold at once" }),
  throughputPerS: z.number().int().min(1).max(100_000).nullable().default(null).meta({ description: "messages per second each way; null: no cap" }),
  shortCodes: z.array(address).max(20).default([]).meta({ description: "our addresses on this link; MO to others is refused" }),
  msisdnPrefixes: z.array(prefix).max(100).default([]).meta({ description: "subscribers this link reaches (longest prefix wins)" }),
  ussd: ussdIn.nullable().default(null).meta({ description: "USSD over SMPP on this link; null: none" }),
  ipAllowList: z
    .array(z.string().refine((ip) => isIP(ip) !== 0, "must be an IPv4 or IPv6 address"))
    .max(50)
    .default([])
    .meta({ description: "server mode: the addresses the telco may bind from; empty: any" }),
};

const password = ascii(8).meta({
  description: "write-only: hashed (server) or sealed (client), never returned; a server link's must be 8 characters mixing three of lower case, upper case, digits, symbols",
});

const linkOut = z
  .object({
    id: z.string(),
    mode: z.enum(["client", "server"]),
    institutionId: z.string(),
    enabled: z.boolean(),
    systemId: z.string(),
    systemType: z.string(),
    host: z.string().nullable(),
    port: z.number().nullable(),
    maxBinds: z.number(),
    throughputPerS: z.number().nullable(),
    shortCodes: z.array(z.string()),
    msisdnPrefixes: z.array(z.string()),
    ipAllowList: z.array(z.string()),
    ussd: z.record(z.string(), z.unknown()).nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ title: "SmsLink" });

const statusOut = z
  .object({
    id: z.string(),
    mode: z.enum(["client", "server"]),
    enabled: z.boolean(),
    state: z.string().meta({ description: "bound, connecting, reconnecting, idle (server: no telco bound), disabled, not_started …" }),
    bound: z.boolean(),
    reconnecting: z.boolean(),
    boundSessions: z.number(),
    inboundPerS: z.number().meta({ description: "messages received per second over the last 10 s" }),
    outboundPerS: z.number(),
    throttled: z.number().meta({ description: "server mode: PDUs refused with ESME_RTHROTTLED since the link started" }),
    queueDepth: z.number().meta({ description: "messages waiting for or in the link's window" }),
    problem: z.string().nullable(),
  })
  .meta({ title: "SmsLinkStatus" });

const params = z.object({ linkId });
const path = `${API_PREFIX}/sms-links/{linkId}`;
const REFUSALS = ["sms_link_not_found", "sms_link_id_taken", "sms_system_id_taken", "institution_not_found", "not_configured", "weak_link_password"] as const;

type CreateBody = z.infer<typeof createBody>;
const createBody = z.strictObject({ mode: z.enum(["client", "server"]), password, ...fields });

function linkReply(result: LinkAdminResult, status = 200): Reply {
  return result.ok ? reply(result.link, status) : refuse(result.code);
}

/** Client links need the SMSC's address; that is the one rule zod's field schemas cannot say. */
function clientProblems(body: Pick<CreateBody, "host" | "port">, mode: string): { path: string[]; message: string }[] {
  if (mode !== "client") return [];
  const problems = [];
  if (body.host === null) problems.push({ path: ["host"], message: "is required for a client link" });
  if (body.port === null) problems.push({ path: ["port"], message: "is required for a client link" });
  return problems;
}

export function smsLinkRoutes(s: AdminServices): AnyRoute[] {
  const links = s.smsLinks;
  const off = (): Reply => refuse("not_configured");
  return [
    route({
      id: "createSmsLink",
      method: "post",
      path: `${API_PREFIX}/sms-links`,
      summary: "Add an SMPP link: a telco's SMSC we bind to (client) or a telco account that binds to us (server)",
      tag: "sms-links",
      access: PLATFORM_ONLY,
      body: createBody.extend({ id: linkId }),
      success: { status: 201, description: "created (the password is not returned)", schema: linkOut },
      refusals: [...REFUSALS],
      async handle({ principal, body }) {
        if (!links) return off();
        const problems = clientProblems(body, body.mode);
        if (problems.length > 0) return invalid(problems);
        const { id, ...input } = body;
        return linkReply(await links.create(actorOf(principal), id, input), 201);
      },
    }),
    route({
      id: "listSmsLinks",
      method: "get",
      path: `${API_PREFIX}/sms-links`,
      summary: "SMPP links",
      tag: "sms-links",
      access: PLATFORM_ONLY,
      success: { status: 200, description: "the links", schema: listOf(linkOut) },
      async handle() {
        return links ? reply({ items: await links.list() }) : off();
      },
    }),
    route({
      id: "listSmsLinkStatus",
      method: "get",
      path: `${API_PREFIX}/sms-links-status`,
      summary: "Each link's state now: bound, reconnecting, throughput, queue depth",
      tag: "sms-links",
      access: PLATFORM_ONLY,
      success: { status: 200, description: "the links' state", schema: listOf(statusOut) },
      async handle() {
        return links ? reply({ items: links.status() }) : off();
      },
    }),
    route({
      id: "getSmsLink",
      method: "get",
      path,
      summary: "An SMPP link",
      tag: "sms-links",
      access: PLATFORM_ONLY,
      params,
      success: { status: 200, description: "the link", schema: linkOut },
      refusals: ["sms_link_not_found"],
      async handle({ params: p }) {
        if (!links) return off();
        const link = await links.get(p.linkId);
        return link ? reply(link) : refuse("sms_link_not_found");
      },
    }),
    route({
      id: "updateSmsLink",
      method: "put",
      path,
      summary: "Replace an SMPP link's settings (its id and mode stay); without a password the current one stays",
      tag: "sms-links",
      access: PLATFORM_ONLY,
      params,
      body: z.strictObject({ password: password.optional(), ...fields }),
      success: { status: 200, description: "updated; the link restarts with it", schema: linkOut },
      refusals: [...REFUSALS],
      async handle({ principal, params: p, body }) {
        if (!links) return off();
        const current = await links.get(p.linkId);
        if (!current) return refuse("sms_link_not_found");
        const problems = clientProblems(body, current.mode);
        if (problems.length > 0) return invalid(problems);
        return linkReply(await links.update(actorOf(principal), p.linkId, body));
      },
    }),
    route({
      id: "deleteSmsLink",
      method: "delete",
      path,
      summary: "Remove an SMPP link (it stops at once)",
      tag: "sms-links",
      access: PLATFORM_ONLY,
      params,
      success: { status: 200, description: "deleted; the link as it was", schema: linkOut },
      refusals: ["sms_link_not_found"],
      async handle({ principal, params: p }) {
        return links ? linkReply(await links.delete(actorOf(principal), p.linkId)) : off();
      },
    }),
  ];
}

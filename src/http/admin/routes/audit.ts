import { z } from "zod";
import type { Access } from "../../../core/access/types.js";
import { auditPage } from "../../../infra/db/admin-queries.js";
import { verifyAuditChain } from "../../../infra/db/audit-store.js";
import { API_PREFIX, PLATFORM_ONLY, reply, route, type AnyRoute } from "../registry.js";
import { institutionParams, queryInt } from "../schemas.js";
import type { AdminServices } from "../services.js";

const AUDITORS: Access = { roles: ["admin", "auditor"], platform: false };
const BANK_AUDIT = `${API_PREFIX}/institutions/{institutionId}/audit`;
const PLATFORM_AUDIT = `${API_PREFIX}/audit`;

const auditEntryOut = z.object({
  seq: z.string(),
  occurredAt: z.string(),
  actorType: z.string(),
  actorId: z.string(),
  action: z.string(),
  channel: z.string(),
  outcome: z.string(),
  subject: z.string().nullable(),
  payload: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});

const pageQuery = z.strictObject({
  before: z.string().regex(/^[1-9][0-9]{0,18}$/, "must be a sequence number").transform(BigInt).optional()
    .meta({ description: "the nextBefore of the previous page" }),
  limit: queryInt(1, 200).optional(),
  action: z.string().regex(/^[a-z][a-z0-9_]{0,31}(\.[a-z][a-z0-9_]{0,31}){0,3}$/, "must look like limits.policy.set").optional()
    .meta({ description: "an action, or a prefix of whole words (\"limits\")" }),
});

const verdictOut = z.object({ ok: z.boolean(), checked: z.number().int(), firstBroken: z.object({ seq: z.string(), reason: z.string() }).optional() });

export function auditRoutes(s: AdminServices): AnyRoute[] {
  return [
    queryAudit(s, "queryAudit", BANK_AUDIT, AUDITORS, "The institution's audit entries, newest first: its configuration, its keys' actions, its customers"),
    verifyAudit(s, "verifyAudit", `${BANK_AUDIT}/verify`, AUDITORS),
    queryAudit(s, "queryPlatformAudit", PLATFORM_AUDIT, PLATFORM_ONLY, "Every audit entry, newest first"),
    verifyAudit(s, "verifyPlatformAudit", `${PLATFORM_AUDIT}/verify`, PLATFORM_ONLY),
  ];
}

function queryAudit(s: AdminServices, id: string, path: string, access: Access, summary: string): AnyRoute {
  return route({
    id,
    method: "get",
    path,
    summary,
    tag: "audit",
    access,
    params: path === BANK_AUDIT ? institutionParams : undefined,
    query: pageQuery,
    success: { status: 200, description: "a page", schema: z.object({ items: z.array(auditEntryOut), nextBefore: z.string().nullable() }) },
    async handle({ institution, query }) {
      const limit = query.limit ?? 50;
      const items = await auditPage(s.db, institution?.id ?? null, { limit, beforeSeq: query.before, action: query.action });
      const nextBefore = items.length === limit ? items[items.length - 1]!.seq : null;
      return reply({ items, nextBefore });
    },
  });
}

/** The chain is one for the whole gateway: verifying it says nothing about any bank's entries. */
function verifyAudit(s: AdminServices, id: string, path: string, access: Access): AnyRoute {
  return route({
    id,
    method: "get",
    path,
    summary: "Verify the whole audit hash chain: every link, no gap, the head",
    tag: "audit",
    access,
    params: path.startsWith(BANK_AUDIT) ? institutionParams : undefined,
    success: { status: 200, description: "the verdict", schema: verdictOut },
    async handle() {
      return reply(await verifyAuditChain(s.db));
    },
  });
}

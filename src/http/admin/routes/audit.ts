import { z } from "zod";
import type { Access } from "../../../core/access/types.js";
import { auditPage, type AuditPosition } from "../../../infra/db/audit-page.js";
import { verifyAuditChain, walkAuditChains } from "../../../infra/db/audit-store.js";
import { checkAuditAnchor, takeAuditAnchor, takeInstitutionAnchor } from "../../../infra/db/audit-anchor.js";
import {
  AuditChainUnverified,
  formatAnchor,
  InvalidAnchor,
  parseAnchor,
  type AnchorCheck,
  type AnchorPoint,
  type AuditAnchor,
} from "../../../core/audit/anchor.js";
import { API_PREFIX, invalid, PLATFORM_ONLY, refuse, reply, route, type AnyRoute, type Reply } from "../registry.js";
import { institutionParams, queryInt } from "../schemas.js";
import type { AdminServices } from "../services.js";

const AUDITORS: Access = { roles: ["admin", "auditor"], platform: false };
const BANK_AUDIT = `${API_PREFIX}/institutions/{institutionId}/audit`;
const PLATFORM_AUDIT = `${API_PREFIX}/audit`;

/** PostgreSQL's bigint. */
const MAX_SEQ = 2n ** 63n - 1n;

const auditEntryOut = z.object({
  chain: z.number().int().meta({ description: "1: every entry but PIN attempts; 2: PIN verifications and changes" }),
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
  before: z.string().regex(/^([12]:)?[1-9][0-9]{0,18}$/, "must be a nextBefore (chain:seq)")
    .refine((v) => BigInt(v.split(":").at(-1)!) <= MAX_SEQ, "must be a nextBefore (chain:seq)").transform(toPosition).optional()
    .meta({ description: "the nextBefore of the previous page (chain:seq; a plain seq means chain 1)" }),
  limit: queryInt(1, 200).optional(),
  action: z.string().regex(/^[a-z][a-z0-9_]{0,31}(\.[a-z][a-z0-9_]{0,31}){0,3}$/, "must look like limits.policy.set").optional()
    .meta({ description: "an action, or a prefix of whole words (\"limits\")" }),
});

/** `?anchor=<line>`: an anchor taken earlier (GET …/audit/anchor or `fingate audit anchor`), URL-encoded. */
const anchorQuery = z.strictObject({
  anchor: z.string().transform((line, ctx): AuditAnchor => {
    try {
      return parseAnchor(line);
    } catch (error) {
      if (!(error instanceof InvalidAnchor)) throw error;
      ctx.addIssue({ code: "custom", message: error.message });
      return z.NEVER;
    }
  }).optional().meta({ description: "an anchor line taken earlier: the chains must still hold its entries with their hashes" }),
});

const anchorCheckOut = z.object({
  ok: z.boolean(),
  problems: z.array(z.object({ chain: z.number().int(), seq: z.string(), reason: z.string() }))
    .meta({ description: "each anchored entry the chains no longer hold, and why (cut from the end, rewritten, head moved back)" }),
}).meta({ description: "present when an anchor was given; the verdict's ok is false when this is" });

const verdictOut = z.object({
  ok: z.boolean(),
  checked: z.number().int(),
  firstBroken: z.object({ chain: z.number().int().optional(), seq: z.string(), reason: z.string() }).optional(),
  anchor: anchorCheckOut.optional(),
});

const anchorOut = z.object({
  anchor: z.string().nullable().meta({ description: "the line to keep outside the gateway and pass back as ?anchor= to verify (null: nothing to anchor yet)" }),
  at: z.string(),
  points: z.array(z.object({ chain: z.number().int(), seq: z.string(), hash: z.string() })),
});

function anchorReply(anchor: AuditAnchor | null, at: Date) {
  return {
    anchor: anchor ? formatAnchor(anchor) : null,
    at: at.toISOString(),
    points: (anchor?.points ?? []).map((p) => ({ chain: p.chain, seq: p.seq.toString(), hash: p.hash })),
  };
}

function anchorCheckReply(check: AnchorCheck) {
  return { ok: check.ok, problems: check.problems.map((p) => ({ chain: p.chain, seq: p.seq.toString(), reason: p.reason })) };
}

/** A `before` cursor: "chain:seq", or a plain seq of chain 1 (the cursors given before there were two chains). */
function toPosition(cursor: string): AuditPosition {
  const [chain, seq] = cursor.includes(":") ? cursor.split(":") : ["1", cursor];
  return { chain: Number(chain), seq: BigInt(seq!) };
}

export function auditRoutes(s: AdminServices): AnyRoute[] {
  const verdict = sharedVerdict(s);
  return [
    queryAudit(s, "queryAudit", BANK_AUDIT, AUDITORS, "The institution's audit entries, newest first: its configuration, its keys' actions, its customers"),
    verifyBankAudit(s, verdict),
    anchorBankAudit(s, verdict),
    queryAudit(s, "queryPlatformAudit", PLATFORM_AUDIT, PLATFORM_ONLY, "Every audit entry, newest first"),
    verifyAudit(s, "verifyPlatformAudit", `${PLATFORM_AUDIT}/verify`, PLATFORM_ONLY),
    anchorAudit(s),
  ];
}

/** How long a bank's auditors share one walk of the chains. */
const BANK_VERDICT_TTL_MS = 60_000;

const bankVerdictOut = z.object({
  ok: z.boolean(),
  checkedAt: z.string().meta({ description: "when the chains were walked (one walk serves every bank for a minute)" }),
  anchor: anchorCheckOut.optional(),
});

type BankVerdict = {
  ok: boolean;
  checkedAt: Date;
  /** The entry the walk found each chain intact up to (when ok): banks' anchors are taken up to these. */
  heads: AnchorPoint[];
  /** Each bank's anchor over this walk, taken once (walking from its entry to the head again costs). */
  anchors: Map<string, Promise<AuditAnchor | null>>;
};

/**
 * One walk of the chains at a time, its verdict reused for a minute: each bank's auditors could
 * otherwise make the database walk every entry of every bank as often as they like.
 */
function sharedVerdict(s: AdminServices, ttlMs = BANK_VERDICT_TTL_MS): () => Promise<BankVerdict> {
  let last: { at: number; verdict: Promise<BankVerdict> } | null = null;
  return () => {
    const now = Date.now();
    if (last && now - last.at < ttlMs) return last.verdict;
    const checkedAt = new Date(now);
    const verdict = walkAuditChains(s.db).then((v) => ({ ok: v.ok, checkedAt, heads: v.heads, anchors: new Map() }));
    const current = { at: now, verdict };
    last = current;
    // A failed walk is not kept: the next call walks again.
    verdict.catch(() => {
      if (last === current) last = null;
    });
    return verdict;
  };
}

/**
 * A bank's view of the verdict: whether the gateway's chains hold, and when they were walked. Not
 * how many entries they hold nor where one broke: those count and place every bank's entries (the
 * platform operator's route has them).
 */
function verifyBankAudit(s: AdminServices, verdict: () => Promise<BankVerdict>): AnyRoute {
  return route({
    id: "verifyAudit",
    method: "get",
    path: `${BANK_AUDIT}/verify`,
    summary: "Whether both audit hash chains hold (walked at most once a minute for all banks), and still hold the institution's anchor when one is given",
    tag: "audit",
    access: AUDITORS,
    params: institutionParams,
    query: anchorQuery,
    success: { status: 200, description: "the verdict", schema: bankVerdictOut },
    async handle({ institution, query }) {
      const { ok, checkedAt } = await verdict();
      if (!query.anchor) return reply({ ok, checkedAt: checkedAt.toISOString() });
      // Checked now, not shared: a point lookup per chain, of the bank's own entries only.
      const held = await checkAuditAnchor(s.db, query.anchor, institution!.id);
      return reply({ ok: ok && held.ok, checkedAt: checkedAt.toISOString(), anchor: anchorCheckReply(held) });
    },
  });
}

/**
 * A bank's anchor: its own newest entry on each chain (seq and hash), which it can see in its audit
 * query anyway; the chains' heads would tell it how many entries every bank wrote. Taken only over
 * chains the shared walk found intact, up to the heads that walk reached (so an entry of the last
 * minute may not be in it yet), and once per walk for each bank.
 */
function anchorBankAudit(s: AdminServices, verdict: () => Promise<BankVerdict>): AnyRoute {
  return route({
    id: "anchorAudit",
    method: "get",
    path: `${BANK_AUDIT}/anchor`,
    summary: "An anchor of the institution's newest audit entries (up to the last walk of the chains, at most a minute old), to keep outside the gateway and verify against later",
    tag: "audit",
    access: AUDITORS,
    params: institutionParams,
    success: { status: 200, description: "the anchor", schema: anchorOut },
    refusals: ["audit_chain_unverified"],
    async handle({ institution }) {
      const walked = await verdict();
      // No details: where a chain broke places every bank's entries (the platform operator's verify names it).
      if (!walked.ok) return refuse("audit_chain_unverified");
      const id = institution!.id;
      let taken = walked.anchors.get(id);
      if (!taken) {
        taken = takeInstitutionAnchor(s.db, id, walked.heads);
        walked.anchors.set(id, taken);
        // A failed take is not kept: the next call tries again.
        taken.catch(() => {
          if (walked.anchors.get(id) === taken) walked.anchors.delete(id);
        });
      }
      return anchored(() => taken, () => refuse("audit_chain_unverified"));
    },
  });
}

/** The platform operator's anchor: both chains' heads now, once a walk of both found them intact. */
function anchorAudit(s: AdminServices): AnyRoute {
  return route({
    id: "anchorPlatformAudit",
    method: "get",
    path: `${PLATFORM_AUDIT}/anchor`,
    summary: "Walk both audit chains, then give an anchor of their heads, to keep outside the gateway and verify against later",
    tag: "audit",
    access: PLATFORM_ONLY,
    success: { status: 200, description: "the anchor", schema: anchorOut },
    refusals: ["audit_chain_unverified"],
    async handle() {
      return anchored(() => takeAuditAnchor(s.db), (error) => refuse("audit_chain_unverified", error.problems.map((message) => ({ path: "chains", message }))));
    },
  });
}

/** Replies with the anchor taken, or with `refused` when the chains do not verify (no anchor then). */
async function anchored(take: () => Promise<AuditAnchor | null>, refused: (error: AuditChainUnverified) => Reply): Promise<Reply> {
  try {
    const anchor = await take();
    return reply(anchorReply(anchor, anchor?.at ?? new Date()));
  } catch (error) {
    if (error instanceof AuditChainUnverified) return refused(error);
    throw error;
  }
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
      const items = await auditPage(s.db, institution?.id ?? null, { limit, before: query.before, action: query.action });
      if (items === null) return invalid([{ path: ["before"], message: "names no entry of this audit log: use the nextBefore of a page" }], "query");
      const last = items.length === limit ? items[items.length - 1]! : null;
      const nextBefore = last ? `${last.chain ?? 1}:${last.seq}` : null;
      return reply({ items, nextBefore });
    },
  });
}

/** The platform operator's verdict: every entry walked, with the count and where a chain broke; and the anchor's, when given. */
function verifyAudit(s: AdminServices, id: string, path: string, access: Access): AnyRoute {
  return route({
    id,
    method: "get",
    path,
    summary: "Verify both audit hash chains: every link, no gap, each head; and that they still hold an anchor's entries when one is given",
    tag: "audit",
    access,
    query: anchorQuery,
    success: { status: 200, description: "the verdict", schema: verdictOut },
    async handle({ query }) {
      const walked = await verifyAuditChain(s.db);
      if (!query.anchor) return reply(walked);
      const held = await checkAuditAnchor(s.db, query.anchor);
      return reply({ ...walked, ok: walked.ok && held.ok, anchor: anchorCheckReply(held) });
    },
  });
}

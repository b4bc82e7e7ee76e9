import type { NextFunction, Request, Response, Router } from "express";
import type { z } from "zod";
import type { ApiKeyService } from "../../core/access/api-key-service.js";
import { authorize } from "../../core/access/authorize.js";
import type { Principal } from "../../core/access/types.js";
import type { Institutions } from "../../core/institutions/institutions.js";
import type { Institution } from "../../core/institutions/types.js";
import { sendJson } from "./json.js";
import { refusalMessage, refusalStatus } from "./refusals.js";
import { expressPath, refuse, type AnyRoute, type Detail, type Reply } from "./registry.js";

export interface HandlerContext {
  keys: ApiKeyService;
  institutions: Institutions;
}

const BEARER_RE = /^Bearer[ ]+([^\s]+)[ ]*$/i;

/** The caller behind `Authorization: Bearer <key>`, or null. */
async function authenticate(req: Request, keys: ApiKeyService): Promise<Principal | null> {
  const match = BEARER_RE.exec(req.get("authorization") ?? "");
  return match ? keys.authenticate(match[1]!) : null;
}

/** Zod issues as field-level details: "body.bands.0.minMinor: must be at least 1". */
function details(location: string, error: z.ZodError): Detail[] {
  return error.issues.flatMap((issue) => {
    const base = [location, ...issue.path.map(String)];
    if (issue.code === "unrecognized_keys") return issue.keys.map((key) => ({ path: [...base, key].join("."), message: "is not a known field" }));
    return [{ path: base.join("."), message: issue.message }];
  });
}

interface Parsed {
  params: unknown;
  query: unknown;
  body: unknown;
}

function validate(def: AnyRoute, req: Request): { ok: true; value: Parsed } | { ok: false; details: Detail[] } {
  const found: Detail[] = [];
  const parse = (location: string, schema: z.ZodType | undefined, raw: unknown): unknown => {
    if (!schema) return undefined;
    const result = schema.safeParse(raw);
    if (result.success) return result.data;
    found.push(...details(location, result.error));
    return undefined;
  };
  const value = {
    params: parse("path", def.params, { ...req.params }),
    query: parse("query", def.query, { ...(req.query as Record<string, unknown>) }),
    body: parse("body", def.body, req.body),
  };
  return found.length > 0 ? { ok: false, details: found } : { ok: true, value };
}

/** Authenticate → authorize → validate → load the institution → handle. Each step may refuse. */
async function run(def: AnyRoute, req: Request, ctx: HandlerContext): Promise<Reply> {
  const principal = def.access === "public" ? null : await authenticate(req, ctx.keys);
  const scoped = def.path.includes("{institutionId}");
  const institutionId = scoped ? String(req.params.institutionId) : undefined;
  const decision = def.access === "public" ? "ok" : authorize(principal, def.access, institutionId);
  if (decision === "unauthenticated") return refuse("unauthenticated");
  if (decision === "forbidden") return refuse("forbidden");
  if (decision === "not_found") return refuse("institution_not_found");
  const parsed = validate(def, req);
  if (!parsed.ok) return refuse("invalid_request", parsed.details);
  let institution: Institution | null = null;
  if (scoped) {
    institution = await ctx.institutions.get(institutionId!);
    if (!institution) return refuse("institution_not_found");
  }
  // principal is null only on public routes, whose handlers do not look at it.
  const input = { principal: principal!, institution, ...parsed.value };
  return def.handle(input as Parameters<AnyRoute["handle"]>[0]);
}

function render(res: Response, result: Reply): void {
  if (result.ok) {
    if (result.status === 204 || result.body === undefined) res.status(result.status).end();
    else sendJson(res, result.status, result.body);
    return;
  }
  const status = refusalStatus(result.code);
  if (status === 401) res.set("WWW-Authenticate", 'Bearer realm="fingate-admin"');
  const error: Record<string, unknown> = { code: result.code, message: refusalMessage(result.code) };
  if (result.details && result.details.length > 0) error.details = result.details;
  sendJson(res, status, { error });
}

export function mountRoute(router: Router, def: AnyRoute, ctx: HandlerContext): void {
  router[def.method](expressPath(def.path), (req: Request, res: Response, next: NextFunction) => {
    run(def, req, ctx).then((result) => render(res, result), next);
  });
}

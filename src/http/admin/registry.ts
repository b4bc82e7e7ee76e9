import type { z } from "zod";
import type { Access, Principal } from "../../core/access/types.js";
import type { Institution } from "../../core/institutions/types.js";
import type { RefusalCode } from "./refusals.js";

export type Method = "get" | "post" | "put" | "delete";

/** What a handler gets: the caller, the institution of the path (loaded), and validated input. */
export interface HandlerInput<P, Q, B> {
  principal: Principal;
  /** Set when the path names {institutionId}: loaded after authorization, so it exists. */
  institution: Institution | null;
  params: P;
  query: Q;
  body: B;
}

export interface Detail {
  path: string;
  message: string;
}

export type Reply = { ok: true; status: number; body?: unknown } | { ok: false; code: RefusalCode; details?: Detail[] };

export const reply = (body: unknown, status = 200): Reply => ({ ok: true, status, body });
export const noContent = (): Reply => ({ ok: true, status: 204 });
export const refuse = (code: RefusalCode, details?: Detail[]): Reply => ({ ok: false, code, details });

/** Field problems found by a service (e.g. fee bands with a gap), reported like schema errors. */
export function invalid(problems: { path: (string | number)[]; message: string }[], location = "body"): Reply {
  return refuse("invalid_request", problems.map((p) => ({ path: [location, ...p.path].join("."), message: p.message })));
}

/**
 * One admin endpoint: how it is reached, who may call it, what it accepts, what it answers. The
 * router mounts exactly these and the OpenAPI document is generated from exactly these, so the
 * two cannot disagree.
 */
export interface RouteDef<P = unknown, Q = unknown, B = unknown> {
  /** operationId in the OpenAPI document. */
  id: string;
  method: Method;
  /** OpenAPI form with the /admin/v1 prefix: /admin/v1/institutions/{institutionId}. */
  path: string;
  summary: string;
  tag: string;
  /** Who may call it; "public" needs no key (the OpenAPI document only). */
  access: Access | "public";
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  success: { status: number; description: string; schema?: z.ZodType };
  /** Refusals the handler may answer with besides the common ones, for the document. */
  refusals?: RefusalCode[];
  handle(input: HandlerInput<P, Q, B>): Promise<Reply>;
}

/** Erases the input types so routes of different shapes share one list; the handler re-validates. */
export type AnyRoute = RouteDef<never, never, never>;

export function route<P = undefined, Q = undefined, B = undefined>(def: RouteDef<P, Q, B>): AnyRoute {
  return def as unknown as AnyRoute;
}

export const API_PREFIX = "/admin/v1";

/** /admin/v1/institutions/{institutionId} → /admin/v1/institutions/:institutionId */
export function expressPath(path: string): string {
  return path.replace(/\{([A-Za-z0-9_]+)\}/g, ":$1");
}

/** The access every bank role has: reading. */
export const ANY_BANK_ROLE = ["admin", "operator", "auditor"] as const;
export const PLATFORM_ONLY: Access = { roles: [], platform: true };

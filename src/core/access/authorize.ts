import type { Access, Principal } from "./types.js";

export type AccessDecision = "ok" | "unauthenticated" | "forbidden" | "not_found";

/**
 * Whether principal may call an endpoint with `access` on the institution named in its path
 * (undefined for endpoints outside any institution, such as telcos). A bank's key asking about
 * another institution is told not_found before its role is looked at, so that a probe learns
 * nothing about other banks, not even that the id exists.
 */
export function authorize(principal: Principal | null, access: Access, institutionId: string | undefined): AccessDecision {
  if (!principal) return "unauthenticated";
  if (principal.role === "platform") return access.platform ? "ok" : "forbidden";
  if (institutionId !== undefined && principal.institutionId !== institutionId) return "not_found";
  return access.roles.includes(principal.role) ? "ok" : "forbidden";
}

import type { ActorType } from "../audit/audit-entry.js";

/** Roles of a bank's API keys: admin changes configuration, operator runs support, auditor reads. */
export const INSTITUTION_ROLES = ["admin", "operator", "auditor"] as const;
export type InstitutionRole = (typeof INSTITUTION_ROLES)[number];

/** The platform operator runs the gateway: institutions, telcos and tariff plans. */
export type Role = InstitutionRole | "platform";
export const ROLES: readonly Role[] = [...INSTITUTION_ROLES, "platform"];

/** Who is calling, as established from an API key. institutionId is null for the platform. */
export interface Principal {
  /** The key's id, or "env" for the bootstrap key from FINGATE_PLATFORM_API_KEY. */
  keyId: string;
  role: Role;
  institutionId: string | null;
}

/** Who may call an endpoint: the roles a bank's key needs, and whether the platform may too. */
export interface Access {
  roles: readonly InstitutionRole[];
  platform: boolean;
}

export interface ApiKey {
  id: string;
  institutionId: string | null;
  role: Role;
  name: string;
  /** The first characters of the secret, so a person can tell keys apart; not enough to use one. */
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** The audit actor for a principal: platform keys act as operators, bank keys as bank users. */
export function actorOf(principal: Principal): { actorType: ActorType; actorId: string } {
  return {
    actorType: principal.role === "platform" ? "operator" : "bank_user",
    actorId: principal.keyId === "env" ? "apikey:env" : `apikey:${principal.keyId}`,
  };
}

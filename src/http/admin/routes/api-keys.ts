import { z } from "zod";
import { INSTITUTION_ROLES } from "../../../core/access/types.js";
import { apiKeyOut, createdKeyOut, listOf } from "../responses.js";
import { API_PREFIX, PLATFORM_ONLY, refuse, reply, route, type AnyRoute } from "../registry.js";
import { institutionParams, uuid } from "../schemas.js";
import type { AdminServices } from "../services.js";

const BANK_KEYS = `${API_PREFIX}/institutions/{institutionId}/api-keys`;
const PLATFORM_KEYS = `${API_PREFIX}/platform/api-keys`;
/** A bank's admin manages its own keys; the platform issues a new bank's first one. */
const KEY_ADMINS = { roles: ["admin"], platform: true } as const;

const name = z.string().trim().min(1).max(64);

export function apiKeyRoutes(s: AdminServices): AnyRoute[] {
  return [createApiKey(s), listApiKeys(s), revokeApiKey(s), createPlatformApiKey(s), listPlatformApiKeys(s), revokePlatformApiKey(s)];
}

function createApiKey(s: AdminServices): AnyRoute {
  return route({
    id: "createApiKey",
    method: "post",
    path: BANK_KEYS,
    summary: "Issue an API key for the institution; the secret is in this answer only",
    tag: "api-keys",
    access: KEY_ADMINS,
    params: institutionParams,
    body: z.strictObject({ name, role: z.enum(INSTITUTION_ROLES) }),
    success: { status: 201, description: "created; store the secret now", schema: createdKeyOut },
    refusals: ["too_many_api_keys"],
    async handle({ principal, institution, body }) {
      const result = await s.keys.create(principal, institution!.id, body.role, body.name);
      if (result.ok) return reply({ key: result.key, secret: result.secret }, 201);
      return refuse(result.code === "too_many_api_keys" ? result.code : "invalid_request");
    },
  });
}

function listApiKeys(s: AdminServices): AnyRoute {
  return route({
    id: "listApiKeys",
    method: "get",
    path: BANK_KEYS,
    summary: "The institution's API keys, revoked ones included (never their secrets)",
    tag: "api-keys",
    access: KEY_ADMINS,
    params: institutionParams,
    success: { status: 200, description: "the keys", schema: listOf(apiKeyOut) },
    async handle({ institution }) {
      return reply({ items: await s.keys.list(institution!.id) });
    },
  });
}

function revokeApiKey(s: AdminServices): AnyRoute {
  return route({
    id: "revokeApiKey",
    method: "delete",
    path: `${BANK_KEYS}/{keyId}`,
    summary: "Revoke an API key; it stops working at once",
    tag: "api-keys",
    access: KEY_ADMINS,
    params: z.object({ institutionId: uuid, keyId: uuid }),
    success: { status: 200, description: "revoked", schema: apiKeyOut },
    refusals: ["api_key_not_found"],
    async handle({ principal, institution, params }) {
      const key = await s.keys.revoke(principal, institution!.id, params.keyId);
      return key ? reply(key) : refuse("api_key_not_found");
    },
  });
}

function createPlatformApiKey(s: AdminServices): AnyRoute {
  return route({
    id: "createPlatformApiKey",
    method: "post",
    path: PLATFORM_KEYS,
    summary: "Issue a platform operator key (e.g. to retire the bootstrap key from the environment)",
    tag: "api-keys",
    access: PLATFORM_ONLY,
    body: z.strictObject({ name }),
    success: { status: 201, description: "created; store the secret now", schema: createdKeyOut },
    refusals: ["too_many_api_keys"],
    async handle({ principal, body }) {
      const result = await s.keys.create(principal, null, "platform", body.name);
      if (result.ok) return reply({ key: result.key, secret: result.secret }, 201);
      return refuse(result.code === "too_many_api_keys" ? result.code : "invalid_request");
    },
  });
}

function listPlatformApiKeys(s: AdminServices): AnyRoute {
  return route({
    id: "listPlatformApiKeys",
    method: "get",
    path: PLATFORM_KEYS,
    summary: "Platform operator keys",
    tag: "api-keys",
    access: PLATFORM_ONLY,
    success: { status: 200, description: "the keys", schema: listOf(apiKeyOut) },
    async handle() {
      return reply({ items: await s.keys.list(null) });
    },
  });
}

function revokePlatformApiKey(s: AdminServices): AnyRoute {
  return route({
    id: "revokePlatformApiKey",
    method: "delete",
    path: `${PLATFORM_KEYS}/{keyId}`,
    summary: "Revoke a platform operator key",
    tag: "api-keys",
    access: PLATFORM_ONLY,
    params: z.object({ keyId: uuid }),
    success: { status: 200, description: "revoked", schema: apiKeyOut },
    refusals: ["api_key_not_found"],
    async handle({ principal, params }) {
      const key = await s.keys.revoke(principal, null, params.keyId);
      return key ? reply(key) : refuse("api_key_not_found");
    },
  });
}

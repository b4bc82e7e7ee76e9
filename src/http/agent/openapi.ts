import { jsonSchema, parameters } from "../admin/openapi.js";
import { errorSchema } from "../admin/schemas.js";
import { AGENT_API_REFUSALS, type AgentApiCode } from "./refusals.js";
import type { AnyAgentRoute } from "./registry.js";

type Json = Record<string, unknown>;

function errorResponses(def: AnyAgentRoute): Record<string, Json> {
  const codes: AgentApiCode[] = ["unauthenticated", ...(def.params || def.query || def.body ? (["invalid_request"] as const) : []), ...(def.refusals ?? [])];
  const byStatus = new Map<number, AgentApiCode[]>();
  for (const code of new Set(codes)) {
    const status = AGENT_API_REFUSALS[code][0];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const ref = { $ref: "#/components/schemas/Error" };
  return Object.fromEntries([...byStatus].map(([status, list]) => [String(status), { description: list.join(", "), content: { "application/json": { schema: ref } } }]));
}

/** The OpenAPI 3.1 document of the agent API: exactly the routes the router mounts. */
export function agentOpenApiDocument(routes: readonly AnyAgentRoute[], documentPath: string): Json {
  const paths: Record<string, Json> = {};
  for (const def of routes) {
    (paths[def.path] ??= {})[def.method] = {
      operationId: def.id,
      summary: def.summary,
      tags: ["agent"],
      parameters: [...parameters(def.params, "path"), ...parameters(def.query, "query")],
      ...(def.body ? { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(def.body, "input") } } } } : {}),
      responses: {
        [String(def.success.status)]: { description: def.success.description, ...(def.success.schema ? { content: { "application/json": { schema: jsonSchema(def.success.schema, "output") } } } : {}) },
        ...errorResponses(def),
      },
    };
  }
  paths[documentPath] = { get: { operationId: "getAgentOpenApiDocument", summary: "This document", tags: ["meta"], security: [], parameters: [], responses: { "200": { description: "OpenAPI 3.1" } } } };
  return {
    openapi: "3.1.0",
    info: {
      title: "fingate agent API",
      version: "1",
      description:
        "Point-of-sale API for business correspondents (agents): cash-in, cash-out started by the agent and approved by the customer, " +
        "customer look-up, float, today's transactions, commission. Amounts are decimal strings of minor units. " +
        "Authenticate with `Authorization: Bearer <device key>` issued by the agent's bank through the admin API.",
    },
    security: [{ deviceKey: [] }],
    components: {
      securitySchemes: { deviceKey: { type: "http", scheme: "bearer", description: "an agent device key (POST /admin/v1/institutions/{institutionId}/agents/{agentId}/device-keys)" } },
      schemas: { Error: jsonSchema(errorSchema, "output") },
    },
    paths,
  };
}

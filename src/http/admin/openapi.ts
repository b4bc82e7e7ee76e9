import { z } from "zod";
import { REFUSALS, type RefusalCode } from "./refusals.js";
import type { AnyRoute } from "./registry.js";
import { errorSchema } from "./schemas.js";

type Json = Record<string, unknown>;

/** JSON Schema 2020-12 (OpenAPI 3.1's dialect) of a request or response schema; inputs as sent. */
export function jsonSchema(schema: z.ZodType, io: "input" | "output"): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: "draft-2020-12", io, unrepresentable: "any", reused: "inline" }) as Json;
  return rest;
}

/** Path or query parameters, one per property of the object schema. */
export function parameters(schema: z.ZodType | undefined, where: "path" | "query"): Json[] {
  if (!schema) return [];
  const object = jsonSchema(schema, "input") as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(object.properties ?? {}).map(([name, property]) => {
    const { description, ...rest } = property;
    return { name, in: where, required: where === "path" || (object.required ?? []).includes(name), schema: rest, ...(description ? { description } : {}) };
  });
}

const ERROR_REF = { $ref: "#/components/schemas/Error" };

/** Every refusal the route may answer with, grouped by HTTP status. */
function errorResponses(def: AnyRoute): Record<string, Json> {
  const codes: RefusalCode[] = [];
  if (def.access !== "public") codes.push("unauthenticated", "forbidden");
  if (def.params || def.query || def.body) codes.push("invalid_request");
  if (def.path.includes("{institutionId}")) codes.push("institution_not_found");
  codes.push(...(def.refusals ?? []));
  const byStatus = new Map<number, RefusalCode[]>();
  for (const code of new Set(codes)) {
    const status = REFUSALS[code][0];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [String(status), { description: list.join(", "), content: { "application/json": { schema: ERROR_REF } } }]),
  );
}

function describeAccess(def: AnyRoute): string {
  if (def.access === "public") return "No API key needed.";
  const who = [...def.access.roles, ...(def.access.platform ? ["platform"] : [])];
  return `Roles: ${who.join(", ") || "none"}.`;
}

function operation(def: AnyRoute): Json {
  const success: Json = { description: def.success.description };
  if (def.success.schema) success.content = { "application/json": { schema: jsonSchema(def.success.schema, "output") } };
  return {
    operationId: def.id,
    summary: def.summary,
    description: describeAccess(def),
    tags: [def.tag],
    ...(def.access === "public" ? { security: [] } : { "x-fingate-access": def.access }),
    parameters: [...parameters(def.params, "path"), ...parameters(def.query, "query")],
    ...(def.body ? { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(def.body, "input") } } } } : {}),
    responses: { [String(def.success.status)]: success, ...errorResponses(def) },
  };
}

/** The OpenAPI 3.1 document of exactly the routes given: the ones the router mounts. */
export function openApiDocument(routes: readonly AnyRoute[]): Json {
  const paths: Record<string, Json> = {};
  for (const def of routes) (paths[def.path] ??= {})[def.method] = operation(def);
  return {
    openapi: "3.1.0",
    info: {
      title: "fingate admin API",
      version: "1",
      description:
        "Bank and platform administration: institutions, API keys, limits, fees, telcos and tariff plans, customers, reports, audit. " +
        "Amounts are decimal strings of minor units. Authenticate with `Authorization: Bearer <key>`.",
    },
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    security: [{ apiKey: [] }],
    components: {
      securitySchemes: { apiKey: { type: "http", scheme: "bearer", description: "an API key issued by the admin API or FINGATE_PLATFORM_API_KEY" } },
      schemas: { Error: jsonSchema(errorSchema, "output") },
    },
    paths,
  };
}

import express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminRouter } from "../../src/http/admin/router.js";
import { createLogger } from "../../src/infra/log.js";
import { openAdmin, type AdminFixture } from "./admin-fixture.js";

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { operationId: string; parameters: { name: string; in: string; required: boolean }[]; requestBody?: unknown; responses: Record<string, unknown> }>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
};

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
}

let f: AdminFixture;
let doc: Doc;

/** What the Express router really mounts, as "METHOD /openapi/{style}" strings. */
function mountedRoutes(router: express.Router): string[] {
  const stack = (router as unknown as { stack: Layer[] }).stack;
  return stack
    .filter((layer) => layer.route)
    .flatMap((layer) =>
      Object.keys(layer.route!.methods)
        .filter((m) => m !== "_all")
        .map((m) => `${m.toUpperCase()} ${layer.route!.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}")}`),
    )
    .sort();
}

function documentedRoutes(d: Doc): string[] {
  return Object.entries(d.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
}

beforeAll(async () => {
  f = await openAdmin("pglite");
  const res = await request(f.app).get("/openapi.json");
  expect(res.status).toBe(200);
  doc = res.body as Doc;
});
afterAll(async () => {
  await f?.close();
});

describe("GET /openapi.json", () => {
  it("is public JSON in OpenAPI 3.1 with a bearer security scheme and the error shape", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.components.securitySchemes).toEqual({ apiKey: expect.objectContaining({ type: "http", scheme: "bearer" }) });
    expect(doc.components.schemas.Error).toMatchObject({ type: "object", required: ["error"] });
    // Schemas are inlined: a "#/$defs/…" reference would resolve against the whole document and dangle.
    expect(JSON.stringify(doc)).not.toContain("$defs");
    expect(JSON.stringify(doc)).not.toContain("\"$schema\"");
  });

  it("documents every mounted route and mounts every documented one", () => {
    const router = adminRouter({ db: f.test.db, ledger: f.ledger, logger: createLogger("silent") });
    const mounted = mountedRoutes(router);
    expect(mounted.length).toBeGreaterThan(30);
    expect(documentedRoutes(doc)).toEqual(mounted);
  });

  it("documented routes answer something other than the app's 'no such route'", async () => {
    for (const entry of documentedRoutes(doc)) {
      const [method, path] = entry.split(" ") as [string, string];
      const url = path.replace(/\{[A-Za-z]+\}/g, "x");
      const res = await request(f.app)[method.toLowerCase() as "get"](url);
      expect(res.body?.error?.code, entry).not.toBe("not_found");
    }
  });

  it("gives every operation a unique id, its parameters, its body schema and its error responses", () => {
    const ids = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(ids.has(op.operationId), op.operationId).toBe(false);
        ids.add(op.operationId);
        const inPath = [...path.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => m[1]);
        expect(op.parameters.filter((p) => p.in === "path").map((p) => p.name).sort(), `${method} ${path}`).toEqual(inPath.sort());
        if (method === "put" || (method === "post" && !path.endsWith("/unlock"))) expect(op.requestBody, `${method} ${path}`).toBeDefined();
        if (path !== "/openapi.json") expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["401", "403"]));
      }
    }
  });

  it("describes amounts as decimal strings, never numbers", () => {
    const body = doc.paths["/admin/v1/institutions/{institutionId}/limits/{channel}/{tier}"]!.put!.requestBody as {
      content: { "application/json": { schema: { properties: Record<string, { type: string; pattern?: string }> } } };
    };
    const props = body.content["application/json"].schema.properties;
    expect(props.maxDailyAmountMinor).toMatchObject({ type: "string", pattern: "^(0|[1-9][0-9]{0,18})$" });
    expect(props.maxDailyCount).toMatchObject({ type: "integer" });
    const quote = doc.paths["/admin/v1/institutions/{institutionId}/fees/{type}/quote"]!.get!;
    expect(quote.parameters).toContainEqual(expect.objectContaining({ name: "amountMinor", in: "query", required: true }));
  });
});

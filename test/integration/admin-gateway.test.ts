import { randomBytes } from "node:crypto";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createPlatformKey } from "../../src/infra/db/api-key-store.js";
import { PostgresDb } from "../../src/infra/db/sql.js";
import { createLogger } from "../../src/infra/log.js";
import { buildGateway, type Gateway } from "../../src/main.js";
import { TEST_DATABASE_URL } from "../helpers/db.js";

const ENV_KEY = `env-${randomBytes(24).toString("hex")}`;
const schema = `t_${randomBytes(6).toString("hex")}`;
let gateway: Gateway;

beforeAll(async () => {
  gateway = await buildGateway(loadConfig({ DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schema, DB_POOL_SIZE: "4", FINGATE_PLATFORM_API_KEY: ENV_KEY }), createLogger("silent"));
});
afterAll(async () => {
  await gateway?.close();
  const admin = new PostgresDb({ connectionString: TEST_DATABASE_URL, maxConnections: 1 });
  await admin.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.close();
});

describe("the admin API in the gateway built by src/main.ts", () => {
  it("serves /openapi.json, answers the platform key from FINGATE_PLATFORM_API_KEY, and leaves the rest of the app alone", async () => {
    expect((await request(gateway.app).get("/openapi.json")).body.openapi).toBe("3.1.0");
    expect((await request(gateway.app).get("/admin/v1/institutions")).status).toBe(401);
    const listed = await request(gateway.app).get("/admin/v1/institutions").set("Authorization", `Bearer ${ENV_KEY}`);
    expect(listed.status).toBe(200);
    expect((await request(gateway.app).get("/healthz")).body).toEqual({ status: "ok" });
    expect((await request(gateway.app).get("/nowhere")).status).toBe(404);
    expect((await request(gateway.app).get("/healthz")).headers["x-powered-by"]).toBeUndefined();
  });

  it("a key made by createPlatformKey (the CLI's bootstrap) works at once", async () => {
    const { secret } = await createPlatformKey(gateway.db, "cli bootstrap");
    const created = await request(gateway.app).post("/admin/v1/institutions").set("Authorization", `Bearer ${secret}`)
      .send({ code: "bank-ke", name: "Bank KE", currency: "KES", timezone: "Africa/Nairobi" });
    expect(created.status).toBe(201);
    const audit = await gateway.db.query<{ action: string; actor_id: string }>(`SELECT action, actor_id FROM audit_log ORDER BY seq`);
    expect(audit.rows.map((r) => r.action)).toEqual(["admin.api_key.create", "admin.institution.create"]);
    expect(audit.rows[0]!.actor_id).toBe("cli");
  });
});

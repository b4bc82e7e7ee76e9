import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { adminRoutes } from "../../src/http/admin/router.js";
import type { AnyRoute } from "../../src/http/admin/registry.js";
import { buildAdminServices } from "../../src/http/admin/services.js";
import { createLogger } from "../../src/infra/log.js";
import { PLATFORM_KEY, bearer, issueKey, openAdmin, type AdminFixture } from "./admin-fixture.js";

type Who = "platform" | "admin" | "operator" | "auditor";
const BANK_ROLES = ["admin", "operator", "auditor"] as const;
const ALL: Who[] = ["platform", "admin", "operator", "auditor"];
const BANK: Who[] = [...BANK_ROLES];

/**
 * Who may call what, written out by endpoint class so that a change of policy shows up here in
 * review. The test checks both that each route declares exactly this and that the HTTP layer
 * enforces it; a route without an entry fails the test.
 */
const EXPECTED: Record<string, Who[]> = {
  // Platform: institutions, telcos, tariff plans, platform keys, cross-institution billing report.
  createInstitution: ["platform"],
  listInstitutions: ["platform"],
  createTelco: ["platform"],
  updateTelco: ["platform"],
  createTariffPlan: ["platform"],
  updateTariffPlan: ["platform"],
  deleteTariffPlan: ["platform"],
  createPlatformApiKey: ["platform"],
  listPlatformApiKeys: ["platform"],
  revokePlatformApiKey: ["platform"],
  reportAllSessionCharges: ["platform"],
  queryPlatformAudit: ["platform"],
  verifyPlatformAudit: ["platform"],
  anchorPlatformAudit: ["platform"],
  // SMPP links to telcos: their credentials and routing are the platform's.
  createSmsLink: ["platform"],
  listSmsLinks: ["platform"],
  listSmsLinkStatus: ["platform"],
  getSmsLink: ["platform"],
  updateSmsLink: ["platform"],
  deleteSmsLink: ["platform"],
  listSmsMessages: ["platform"],
  countSmsMessagesByState: ["platform"],
  getSmsMessage: ["platform"],
  // Read by everyone: an institution's own record, its configuration, telcos and their plans.
  getInstitution: ALL,
  setInstitutionLanguage: ["platform", "admin"],
  setInstitutionLimitUnit: ["platform"],
  listLimitPolicies: ALL,
  getLimitPolicy: ALL,
  listFeeSchedules: ALL,
  getFeeSchedule: ALL,
  quoteFee: ALL,
  listTelcos: ALL,
  getTelco: ALL,
  listTariffPlans: ALL,
  getTariffPlan: ALL,
  // Configuration changes: the bank's admin only (the platform sets none of a bank's policy).
  setLimitPolicy: ["admin"],
  resetLimitPolicy: ["admin"],
  setFeeSchedule: ["admin"],
  removeFeeSchedule: ["admin"],
  // Keys: the bank's admin, and the platform (which issues a new bank's first key).
  createApiKey: ["platform", "admin"],
  listApiKeys: ["platform", "admin"],
  revokeApiKey: ["platform", "admin"],
  // Customers: the bank only. Support (operator) unlocks and blocks; identity matters need the admin.
  getCustomer: BANK,
  setCustomerKycTier: ["admin"],
  setCustomerStatus: ["admin", "operator"],
  unlockCustomerPin: ["admin", "operator"],
  resetCustomerPin: ["admin"],
  listSimSwaps: BANK,
  reportSimSwap: ["admin", "operator"],
  // Agents: the bank only. Every role reads; support (operator) may suspend; money and keys need the admin.
  onboardAgent: ["admin"],
  listAgents: BANK,
  getAgent: BANK,
  setAgentStatus: ["admin", "operator"],
  setAgentLimits: ["admin"],
  topUpAgentFloat: ["admin"],
  withdrawAgentFloat: ["admin"],
  getAgentStatement: BANK,
  reverseAgentCashIn: ["admin"],
  issueAgentDeviceKey: ["admin"],
  listAgentDeviceKeys: BANK,
  revokeAgentDeviceKey: ["admin"],
  unlockAgentPin: ["admin", "operator"],
  resetAgentPin: ["admin"],
  // Reports: every bank role. Audit: admin and auditor.
  reportTransactions: BANK,
  reportSessionCharges: BANK,
  reportFees: BANK,
  queryAudit: ["admin", "auditor"],
  verifyAudit: ["admin", "auditor"],
  anchorAudit: ["admin", "auditor"],
};

let f: AdminFixture;
let routes: AnyRoute[];
let keys: Record<Who, string>;

beforeAll(async () => {
  f = await openAdmin("postgres");
  keys = { platform: PLATFORM_KEY, admin: f.a.admin, operator: f.a.operator, auditor: f.a.auditor };
  routes = adminRoutes(buildAdminServices({ db: f.test.db, ledger: f.ledger, logger: createLogger("silent") }));
});
afterAll(async () => {
  await f?.close();
});

/** A concrete URL for a route: institution placeholders get `institutionId`, other ids fresh UUIDs. */
function urlOf(route: AnyRoute, institutionId: string): string {
  const values: Record<string, string> = { institutionId, channel: "ussd", tier: "1", type: "p2p" };
  return route.path.replace(/\{([A-Za-z]+)\}/g, (_all, name: string) => values[name] ?? uuidv7());
}

// Empty bodies and no query: any route that needs input answers 400 after authorization, so no
// call in this matrix changes anything except the limit resets and fee removals, which are harmless.
function call(route: AnyRoute, url: string, key?: string) {
  const req = request(f.app)[route.method](url);
  if (key) req.set(...bearer(key));
  return route.method === "get" || route.method === "delete" ? req : req.send({});
}

const scoped = (route: AnyRoute) => route.path.includes("{institutionId}");
const passedAuthorization = (res: request.Response) =>
  res.status !== 401 && res.status !== 403 && !(res.status === 404 && res.body?.error?.code === "institution_not_found");

describe("admin API authorization matrix", () => {
  it("every route has an expected access entry and declares exactly it", () => {
    const declared = Object.fromEntries(
      routes.map((r) => [r.id, r.access === "public" ? ["public"] : [...(r.access.platform ? ["platform"] : []), ...r.access.roles]]),
    );
    expect(Object.keys(declared).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const [id, who] of Object.entries(EXPECTED)) expect([...declared[id]!].sort(), id).toEqual([...who].sort());
  });

  it("without a key, or with a wrong, malformed or revoked one, every route answers 401", async () => {
    const revoked = await issueKey(f.app, f.a.admin, f.a.id, "operator");
    const listed = await request(f.app).get(`/admin/v1/institutions/${f.a.id}/api-keys`).set(...bearer(f.a.admin));
    const revokedId = listed.body.items.find((k: { prefix: string }) => revoked.startsWith(k.prefix)).id as string;
    expect((await request(f.app).delete(`/admin/v1/institutions/${f.a.id}/api-keys/${revokedId}`).set(...bearer(f.a.admin))).status).toBe(200);
    for (const route of routes) {
      const url = urlOf(route, f.a.id);
      const attempts = [
        call(route, url),
        call(route, url, "fgk_not-a-real-key"),
        call(route, url, revoked),
        request(f.app)[route.method](url).set("Authorization", `Basic ${Buffer.from("a:b").toString("base64")}`),
      ];
      for (const res of await Promise.all(attempts)) {
        expect(res.status, `${route.method} ${route.path}`).toBe(401);
        expect(res.body.error.code).toBe("unauthenticated");
        expect(res.headers["www-authenticate"]).toMatch(/^Bearer/);
      }
    }
  });

  it.each(ALL)("%s: allowed routes pass, the others answer 403", async (who) => {
    for (const route of routes) {
      const res = await call(route, urlOf(route, f.a.id), keys[who]);
      const label = `${who} ${route.method} ${route.path} → ${res.status} ${JSON.stringify(res.body)}`;
      if (EXPECTED[route.id]!.includes(who)) expect(passedAuthorization(res), label).toBe(true);
      else {
        expect(res.status, label).toBe(403);
        expect(res.body.error.code, label).toBe("forbidden");
      }
    }
  });

  it.each(BANK_ROLES)("%s of bank A asking about bank B gets 404 on every institution route, whatever its role", async (who) => {
    for (const route of routes.filter(scoped)) {
      const res = await call(route, urlOf(route, f.b.id), keys[who]);
      expect(res.status, `${who} ${route.method} ${route.path}`).toBe(404);
      expect(res.body.error.code).toBe("institution_not_found");
    }
  });

  it("a bank's key asking about an institution that does not exist gets the same 404", async () => {
    for (const route of routes.filter(scoped)) {
      const res = await call(route, urlOf(route, uuidv7()), f.a.admin);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("institution_not_found");
    }
  });

  it("the platform reaches any institution's routes it is allowed, and bank B's own keys reach B", async () => {
    for (const route of routes.filter(scoped)) {
      if (!EXPECTED[route.id]!.includes("platform")) continue;
      expect(passedAuthorization(await call(route, urlOf(route, f.b.id), PLATFORM_KEY)), route.path).toBe(true);
    }
    const own = await request(f.app).get(`/admin/v1/institutions/${f.b.id}/limits`).set(...bearer(f.b.auditor));
    expect(own.status).toBe(200);
  });

  it("a platform key issued through the API works like the bootstrap key, until revoked", async () => {
    const created = await request(f.app).post("/admin/v1/platform/api-keys").set(...bearer(PLATFORM_KEY)).send({ name: "ops" });
    expect(created.status).toBe(201);
    const key = created.body.secret as string;
    expect(key).toMatch(/^fgk_[A-Za-z0-9_-]{43}$/);
    expect((await request(f.app).get("/admin/v1/institutions").set(...bearer(key))).status).toBe(200);
    const revoked = await request(f.app).delete(`/admin/v1/platform/api-keys/${created.body.key.id}`).set(...bearer(PLATFORM_KEY));
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    expect((await request(f.app).get("/admin/v1/institutions").set(...bearer(key))).status).toBe(401);
  });
});

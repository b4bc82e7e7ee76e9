import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PLATFORM_KEY, bearer, openAdmin, type AdminFixture } from "./admin-fixture.js";

let f: AdminFixture;
beforeAll(async () => {
  f = await openAdmin("postgres");
});
afterAll(async () => {
  await f?.close();
});

const limitsUrl = () => `/admin/v1/institutions/${f.a.id}/limits/ussd/1`;
const feesUrl = () => `/admin/v1/institutions/${f.a.id}/fees/p2p`;

function expectInvalid(res: request.Response, details: { path: string; message: string | RegExp }[]): void {
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(res.body.error.code).toBe("invalid_request");
  expect(res.body.error.message).toEqual(expect.any(String));
  for (const d of details) {
    expect(res.body.error.details).toContainEqual({ path: d.path, message: typeof d.message === "string" ? d.message : expect.stringMatching(d.message) });
  }
}

const policy = {
  maxPerTransactionMinor: "1000000",
  maxDailyAmountMinor: "2000000",
  maxDailyCount: 5,
  maxMonthlyAmountMinor: "9000000",
  maxBalanceMinor: "5000000",
};

describe("admin API validation: 400 with field-level details", () => {
  it("amounts must be decimal strings, never JSON numbers", async () => {
    const res = await request(f.app).put(limitsUrl()).set(...bearer(f.a.admin)).send({ ...policy, maxPerTransactionMinor: 1000000, maxBalanceMinor: "12.50" });
    expectInvalid(res, [
      { path: "body.maxPerTransactionMinor", message: /expected string/ },
      { path: "body.maxBalanceMinor", message: 'must be a decimal string of minor units, e.g. "150000"' },
    ]);
  });

  it("names missing, unknown and out-of-range fields", async () => {
    const { maxDailyCount: _, ...missing } = policy;
    const res = await request(f.app).put(limitsUrl()).set(...bearer(f.a.admin)).send({ ...missing, currency: "KES", maxBalanceMinor: "99999999999999999999" });
    expectInvalid(res, [
      { path: "body.maxDailyCount", message: /expected number/ },
      { path: "body.currency", message: "is not a known field" },
      { path: "body.maxBalanceMinor", message: /decimal string/ },
    ]);
  });

  it("a limit above the channel's security-level ceiling is refused field by field", async () => {
    const res = await request(f.app).put(`/admin/v1/institutions/${f.a.id}/limits/sms/0`).set(...bearer(f.a.admin)).send(policy);
    expectInvalid(res, [{ path: "body.maxPerTransactionMinor", message: /must not exceed 100000 \(security level 2 default for sms, tier 0\)/ }]);
  });

  it("path parameters are validated too", async () => {
    const res = await request(f.app).get(`/admin/v1/institutions/${f.a.id}/limits/telegram/7`).set(...bearer(f.a.admin));
    expectInvalid(res, [
      { path: "path.channel", message: /expected one of "ussd"\|"sms"\|"ivr"\|"agent"\|"api"/ },
      { path: "path.tier", message: /expected one of/ },
    ]);
    expectInvalid(await request(f.app).get(`/admin/v1/telcos/not-a-uuid`).set(...bearer(PLATFORM_KEY)), [{ path: "path.telcoId", message: "must be a lower-case UUID" }]);
  });

  it("fee bands with a gap or an overlap point at the offending band", async () => {
    const gap = await request(f.app).put(feesUrl()).set(...bearer(f.a.admin)).send({
      bands: [{ minMinor: "1", maxMinor: "100", feeMinor: "0" }, { minMinor: "102", maxMinor: "200", feeMinor: "5" }],
    });
    expectInvalid(gap, [{ path: "body.bands.1.minMinor", message: "leaves a gap after the previous band, which ends at 100; must be 101" }]);
    const overlap = await request(f.app).put(feesUrl()).set(...bearer(f.a.admin)).send({
      bands: [{ minMinor: "1", maxMinor: "100", feeMinor: "0" }, { minMinor: "50", maxMinor: "200", feeMinor: "5" }],
    });
    expectInvalid(overlap, [{ path: "body.bands.1.minMinor", message: /overlaps the previous band/ }]);
    expectInvalid(await request(f.app).put(feesUrl()).set(...bearer(f.a.admin)).send({ bands: [] }), [{ path: "body.bands", message: /at least 1|>=1/ }]);
  });

  it("query strings: date ranges, amounts and page sizes", async () => {
    const reports = `/admin/v1/institutions/${f.a.id}/reports/transactions`;
    expectInvalid(await request(f.app).get(`${reports}?from=2026-11-30&to=2026-11-01`).set(...bearer(f.a.auditor)), [{ path: "query.to", message: "must not be before from" }]);
    expectInvalid(await request(f.app).get(`${reports}?from=2026-01-01&to=2026-12-31`).set(...bearer(f.a.auditor)), [{ path: "query.to", message: "the range may span at most 93 days" }]);
    expectInvalid(await request(f.app).get(`${reports}?from=2026-02-30&to=2026-03-01`).set(...bearer(f.a.auditor)), [{ path: "query.from", message: "must be a real calendar date" }]);
    expectInvalid(await request(f.app).get(`${feesUrl()}/quote?amountMinor=-5`).set(...bearer(f.a.auditor)), [{ path: "query.amountMinor", message: /decimal string/ }]);
    expectInvalid(await request(f.app).get(`/admin/v1/institutions/${f.a.id}/audit?limit=5000`).set(...bearer(f.a.auditor)), [{ path: "query.limit", message: /<=200/ }]);
    expectInvalid(await request(f.app).get(`${reports}?from=2026-11-01&to=2026-11-02&extra=1`).set(...bearer(f.a.auditor)), [{ path: "query.extra", message: "is not a known field" }]);
  });

  it("service-level refusals of input are reported the same way (an unknown time zone)", async () => {
    const res = await request(f.app).post("/admin/v1/institutions").set(...bearer(PLATFORM_KEY)).send({ code: "bank-x", name: "X", currency: "KES", timezone: "Mars/Base" });
    expectInvalid(res, [{ path: "body.timezone", message: "must be an IANA time zone such as Africa/Nairobi" }]);
  });

  it("a time zone the runtime takes but the database does not know is refused where it enters, not a 500 later", async () => {
    for (const timezone of ["US/Pacific-New", "Canada/East-Saskatchewan"]) {
      const res = await request(f.app).post("/admin/v1/institutions").set(...bearer(PLATFORM_KEY)).send({ code: "bank-tz", name: "TZ", currency: "KES", timezone });
      expectInvalid(res, [{ path: "body.timezone", message: "must be an IANA time zone such as Africa/Nairobi" }]);
      const report = await request(f.app).get(`/admin/v1/reports/session-charges?from=2026-11-01&to=2026-11-02&timeZone=${encodeURIComponent(timezone)}`).set(...bearer(PLATFORM_KEY));
      expectInvalid(report, [{ path: "query.timeZone", message: "must be an IANA time zone" }]);
    }
    const kolkata = await request(f.app).get("/admin/v1/reports/session-charges?from=2026-11-01&to=2026-11-02&timeZone=Asia/Kolkata").set(...bearer(PLATFORM_KEY));
    expect(kolkata.status, JSON.stringify(kolkata.body)).toBe(200);
    // Names are read without regard to case, as the database reads them.
    const lower = await request(f.app).post("/admin/v1/institutions").set(...bearer(PLATFORM_KEY)).send({ code: "bank-tz-lower", name: "TZ", currency: "KES", timezone: "africa/nairobi" });
    expect(lower.status, JSON.stringify(lower.body)).toBe(201);
    // An institution stored with such a zone before the check: its reports say so, not a 500.
    await f.test.db.query("UPDATE institutions SET timezone = 'US/Pacific-New' WHERE id = $1::uuid", [lower.body.id]);
    const key = await request(f.app).post(`/admin/v1/institutions/${lower.body.id}/api-keys`).set(...bearer(PLATFORM_KEY)).send({ name: "ops", role: "auditor" });
    const stale = await request(f.app).get(`/admin/v1/institutions/${lower.body.id}/reports/transactions?from=2026-11-01&to=2026-11-02`).set(...bearer(key.body.secret));
    expect([stale.status, stale.body.error?.code]).toEqual([409, "time_zone_unknown"]);
  });

  it("dates and instants before 1970 (year 0 among them, which PostgreSQL refuses) are a 400", async () => {
    const early = "must be in 1970 or later";
    expectInvalid(await request(f.app).get(`/admin/v1/institutions/${f.a.id}/reports/transactions?from=0000-01-01&to=0000-01-02`).set(...bearer(f.a.auditor)), [{ path: "query.from", message: early }]);
    expectInvalid(await request(f.app).get(`/admin/v1/institutions/${f.a.id}/sim-swaps?since=0000-06-01T00:00:00Z`).set(...bearer(f.a.admin)), [{ path: "query.since", message: early }]);
    const offset = await request(f.app).get(`/admin/v1/institutions/${f.a.id}/sim-swaps?since=${encodeURIComponent("1970-01-01T00:00:00+14:00")}`).set(...bearer(f.a.admin));
    expectInvalid(offset, [{ path: "query.since", message: early }]);
    expect((await request(f.app).get(`/admin/v1/institutions/${f.a.id}/sim-swaps?since=1970-01-01T00:00:00Z`).set(...bearer(f.a.admin))).status).toBe(200);
  });

  it("malformed JSON and a missing body are 400 too; oversized bodies 413", async () => {
    const malformed = await request(f.app).put(limitsUrl()).set(...bearer(f.a.admin)).set("Content-Type", "application/json").send('{"maxDailyCount": ');
    expectInvalid(malformed, [{ path: "body", message: "is not valid JSON" }]);
    expectInvalid(await request(f.app).put(limitsUrl()).set(...bearer(f.a.admin)), [{ path: "body", message: /expected object/ }]);
    const huge = await request(f.app).put(limitsUrl()).set(...bearer(f.a.admin)).send({ ...policy, pad: "x".repeat(70_000) });
    expect(huge.status).toBe(413);
  });

  it("text the database cannot store (a NUL, half a surrogate pair) is a 400 wherever it is, never a 500", async () => {
    const keyName = await request(f.app).post(`/admin/v1/institutions/${f.a.id}/api-keys`).set(...bearer(f.a.admin)).send({ name: "ops\u0000key", role: "auditor" });
    expectInvalid(keyName, [{ path: "body", message: "holds a NUL character or broken Unicode" }]);
    const brokenKey = await request(f.app).put(limitsUrl()).set(...bearer(f.a.admin)).set("Content-Type", "application/json").send('{"\\ud800": 1}');
    expectInvalid(brokenKey, [{ path: "body", message: "holds a NUL character or broken Unicode" }]);
    expectInvalid(await request(f.app).get("/admin/v1/institutions?after=%00").set(...bearer(PLATFORM_KEY)), [{ path: "url", message: "holds a NUL character or broken Unicode" }]);
    expectInvalid(await request(f.app).get(`/admin/v1/institutions/${f.a.id}/customers/abc%00`).set(...bearer(f.a.admin)), [{ path: "url", message: "holds a NUL character or broken Unicode" }]);
  });

  it("a path parameter that does not percent-decode is a 400 (before any key is checked), never a 500", async () => {
    // The router decodes parameters while matching routes: its URIError was answered as an internal error.
    expectInvalid(await request(f.app).get("/admin/v1/institutions/%E0"), [{ path: "url", message: "holds a malformed percent-encoding" }]);
    expectInvalid(await request(f.app).get(`/admin/v1/institutions/${f.a.id}/customers/%C3%28`).set(...bearer(f.a.admin)), [{ path: "url", message: "holds a malformed percent-encoding" }]);
  });

  it("a field named twice is a 400, not the last one silently (a limit other than the one a reviewer reads first)", async () => {
    const twice = `{"maxPerTransactionMinor":"100","maxPerTransactionMinor":"1000000","maxDailyAmountMinor":"2000000","maxDailyCount":5,"maxMonthlyAmountMinor":"9000000","maxBalanceMinor":"5000000"}`;
    const res = await request(f.app).put(limitsUrl()).set(...bearer(f.a.admin)).set("Content-Type", "application/json").send(twice);
    expectInvalid(res, [{ path: "body", message: "names a field twice" }]);
    expect((await request(f.app).get(limitsUrl()).set(...bearer(f.a.auditor))).body.source).toBe("default");
  });

  it("a body the server cannot read keeps body-parser's 4xx: an unknown charset, an unknown encoding, a body that does not inflate", async () => {
    const body = JSON.stringify(policy);
    const charset = await request(f.app).put(limitsUrl()).set(...bearer(f.a.admin)).set("Content-Type", "application/json; charset=latin1").send(body);
    expect([charset.status, charset.body.error?.code]).toEqual([415, "unsupported_media_type"]);
    const encoding = await request(f.app).put(limitsUrl()).set(...bearer(f.a.admin)).set("Content-Type", "application/json").set("Content-Encoding", "compress").send(body);
    expect([encoding.status, encoding.body.error?.code]).toEqual([415, "unsupported_media_type"]);
    const gzip = await request(f.app).put(limitsUrl()).set(...bearer(f.a.admin)).set("Content-Type", "application/json").set("Content-Encoding", "gzip").send(body);
    expect([gzip.status, gzip.body.error?.code]).toEqual([400, "invalid_request"]);
  });

  it("nothing invalid was stored: the cell still shows its default", async () => {
    const res = await request(f.app).get(limitsUrl()).set(...bearer(f.a.auditor));
    expect(res.body.source).toBe("default");
    expect((await request(f.app).get(`/admin/v1/institutions/${f.a.id}/fees`).set(...bearer(f.a.auditor))).body.items).toEqual([]);
  });

  it("an unknown admin path is a JSON 404", async () => {
    const res = await request(f.app).get("/admin/v1/nothing-here").set(...bearer(f.a.admin));
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("not_found");
  });
});

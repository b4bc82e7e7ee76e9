/**
 * An institution (here the platform) may hold only so many unrevoked API keys: unbounded, a leaked
 * admin key could mint keys faster than they are revoked, and the list (1,000 rows, newest first)
 * hid the oldest unrevoked keys behind revoked ones. On PostgreSQL and PGlite.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../src/core/access/api-key-service.js";
import type { Principal } from "../../src/core/access/types.js";
import { SqlApiKeyStore } from "../../src/infra/db/api-key-store.js";
import { openTestDb, STORE_KINDS, type TestDb } from "../helpers/db.js";

const PLATFORM: Principal = { keyId: "env", role: "platform", institutionId: null };

describe.each(STORE_KINDS)("API keys on %s", (kind) => {
  let t: TestDb;
  let keys: ApiKeyService;

  beforeAll(async () => {
    t = await openTestDb(kind);
    keys = new ApiKeyService({ store: new SqlApiKeyStore(t.db), maxActiveKeys: 3 });
  });
  afterAll(async () => t?.cleanup());

  const auditCount = async () => (await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE action = 'admin.api_key.create'")).rows[0]!.n;

  it("refuses a key past the cap, writes nothing for it, and takes one again once a key is revoked", async () => {
    const made = [];
    for (const name of ["a", "b", "c"]) {
      const r = await keys.create(PLATFORM, null, "platform", name);
      expect(r.ok).toBe(true);
      if (r.ok) made.push(r.key);
    }
    expect(await keys.create(PLATFORM, null, "platform", "d")).toEqual({ ok: false, code: "too_many_api_keys" });
    expect(await auditCount()).toBe(3);
    expect((await keys.list(null)).map((k) => k.name)).toEqual(["c", "b", "a"]);
    await keys.revoke(PLATFORM, null, made[0]!.id);
    const again = await keys.create(PLATFORM, null, "platform", "e");
    expect(again.ok).toBe(true);
    // Unrevoked keys come first, so a long history of revoked keys never hides one.
    expect((await keys.list(null)).map((k) => [k.name, k.revokedAt === null])).toEqual([
      ["e", true],
      ["c", true],
      ["b", true],
      ["a", false],
    ]);
  });
});

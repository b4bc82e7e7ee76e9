import { describe, expect, it } from "vitest";
import {
  authorize,
  decideAddInstrument,
  decideClaimAlias,
  decideReleaseAlias,
  decideRemoveInstrument,
  decideRenameInstrument,
  decideSetDefaultInstrument,
  decideUpdateCustomer,
  guarded,
  ownInQuarantine,
} from "../../src/core/directory/decide.js";
import type { ActionContext, CustomerProfile, Instrument } from "../../src/core/directory/types.js";

const NOW = new Date("2026-11-25T10:00:00Z");
const INSTITUTION = "0193b000-0000-7000-8000-000000000001";
const CUSTOMER = "0193b000-0000-7000-8000-0000000000c1";
const WALLET_ACCOUNT = "0193b000-0000-7000-8000-0000000000a1";

function instrument(id: string, alias: string, extra: Partial<Instrument> = {}): Instrument {
  return { id, customerId: CUSTOMER, kind: "card", alias, accountId: `${id}-acct`, externalRefLast4: "4242", isDefault: false, createdAt: NOW, ...extra };
}

function profile(overrides: Partial<CustomerProfile["customer"]> = {}, more: Partial<CustomerProfile> = {}): CustomerProfile {
  return {
    customer: {
      id: CUSTOMER,
      institutionId: INSTITUTION,
      msisdn: "+254712345678",
      displayName: "Jane Wanjiru",
      language: "en",
      kycTier: 0,
      status: "active",
      walletAccountId: WALLET_ACCOUNT,
      createdAt: NOW,
      ...overrides,
    },
    aliases: [],
    releasedAliases: [],
    instruments: [instrument("w", "wallet", { kind: "wallet", accountId: WALLET_ACCOUNT, externalRefLast4: null, isDefault: true })],
    ...more,
  };
}

const self: ActionContext = { actorType: "customer", actorId: CUSTOMER, channel: "ussd" };
const banker: ActionContext = { actorType: "bank_user", actorId: "u1", channel: "admin", institutionId: INSTITUTION };

describe("authorize", () => {
  it("lets customers act on themselves only, and only as owners", () => {
    const { customer } = profile();
    expect(authorize(self, customer, "owner")).toBeNull();
    expect(authorize(self, customer, "admin")).toBe("not_permitted");
    expect(authorize({ ...self, actorId: "someone-else" }, customer, "owner")).toBe("not_permitted");
    expect(authorize({ actorType: "agent", actorId: "a1", channel: "agent" }, customer, "owner")).toBe("not_permitted");
  });

  it("scopes bank users to their institution without revealing other banks' customers", () => {
    const { customer } = profile();
    expect(authorize(banker, customer, "admin")).toBeNull();
    expect(authorize({ ...banker, institutionId: "other" }, customer, "admin")).toBe("customer_not_found");
    expect(authorize({ ...banker, institutionId: undefined }, customer, "admin")).toBe("customer_not_found");
  });

  it("guards every decision with existence and authority", () => {
    const decide = guarded(self, "owner", () => ({ ok: true, value: 1, changes: [] }));
    expect(decide(null)).toEqual({ ok: false, code: "customer_not_found" });
    expect(guarded(self, "admin", decide as never)(profile())).toEqual({ ok: false, code: "not_permitted" });
  });
});

describe("aliases", () => {
  const parsed = { alias: "Mama.Jane", key: "mama.jane" };

  it("claims, and claiming again is a no-op", () => {
    const first = decideClaimAlias(profile(), parsed, NOW);
    expect(first).toMatchObject({ ok: true, value: { aliasKey: "mama.jane", alias: "Mama.Jane" }, changes: [{ type: "add_alias" }] });
    const held = profile({}, { aliases: [{ alias: "Mama.Jane", aliasKey: "mama.jane", customerId: CUSTOMER, createdAt: NOW }] });
    expect(decideClaimAlias(held, parsed, NOW)).toMatchObject({ ok: true, changes: [] });
  });

  it("limits the number of aliases and refuses inactive customers", () => {
    const five = Array.from({ length: 5 }, (_, i) => ({ alias: `a${i}xx`, aliasKey: `a${i}xx`, customerId: CUSTOMER, createdAt: NOW }));
    expect(decideClaimAlias(profile({}, { aliases: five }), parsed, NOW)).toEqual({ ok: false, code: "alias_limit_reached" });
    expect(decideClaimAlias(profile({ status: "blocked" }), parsed, NOW)).toEqual({ ok: false, code: "customer_not_active" });
    expect(decideClaimAlias(profile({ status: "closed" }), parsed, NOW)).toEqual({ ok: false, code: "customer_closed" });
  });

  it("caps names held plus names released still in quarantine, but never a claim that takes one of those back", () => {
    const DAY = 24 * 60 * 60 * 1000;
    const four = Array.from({ length: 4 }, (_, i) => ({ alias: `b${i}xx`, aliasKey: `b${i}xx`, customerId: CUSTOMER, createdAt: NOW }));
    const released = (aliasKey: string, skeleton: string, lookalike: string, daysAgo: number) =>
      ({ aliasKey, aliasSkeleton: skeleton, aliasLookalike: lookalike, releasedAt: new Date(NOW.getTime() - daysAgo * DAY) });
    const six = [
      released("john.k", "johnk", "johnk", 1),
      ...Array.from({ length: 5 }, (_, i) => released(`c${i}.yy`, `c${i}yy`, `c${i}yy`, 2)),
    ];
    const atCap = profile({}, { aliases: four, releasedAliases: six });
    expect(decideClaimAlias(atCap, parsed, NOW)).toEqual({ ok: false, code: "alias_quarantine_limit_reached" });
    // Its own, as typed, another spelling or a look-alike: the claim frees the released row.
    for (const key of ["john.k", "john_k", "j0hn.k"]) {
      expect(decideClaimAlias(atCap, { alias: key, key }, NOW), key).toMatchObject({ ok: true, changes: [{ type: "add_alias" }] });
    }
    // Out of quarantine, released names no longer count.
    const aged = profile({}, { aliases: four, releasedAliases: six.map((r) => ({ ...r, releasedAt: new Date(NOW.getTime() - 31 * DAY) })) });
    expect(decideClaimAlias(aged, parsed, NOW)).toMatchObject({ ok: true });
    // One fewer in quarantine leaves room for one.
    expect(decideClaimAlias(profile({}, { aliases: four, releasedAliases: six.slice(1) }), parsed, NOW)).toMatchObject({ ok: true });
  });

  it("takes back one's own name in quarantine beyond the profile's cut list of released rows (ownInQuarantine, from the holders)", () => {
    const DAY = 24 * 60 * 60 * 1000;
    const recent = Array.from({ length: 10 }, (_, i) => ({ aliasKey: `d${i}.zz`, aliasSkeleton: `d${i}zz`, aliasLookalike: `d${i}zz`, releasedAt: new Date(NOW.getTime() - DAY) }));
    const legacy = profile({}, { releasedAliases: recent });
    const old = { alias: "old.name", key: "old.name" };
    expect(decideClaimAlias(legacy, old, NOW)).toEqual({ ok: false, code: "alias_quarantine_limit_reached" });
    expect(decideClaimAlias(legacy, old, NOW, true)).toMatchObject({ ok: true, changes: [{ type: "add_alias" }] });
    const holder = (customerId: string, daysAgo: number | null) =>
      ({ aliasKey: "old.name", customerId, sameSkeleton: true, releasedAt: daysAgo === null ? null : new Date(NOW.getTime() - daysAgo * DAY) });
    expect(ownInQuarantine([holder(CUSTOMER, 20)], CUSTOMER, NOW)).toBe(true);
    // Quarantine over, held, or someone else's: no take-back.
    expect(ownInQuarantine([holder(CUSTOMER, 31)], CUSTOMER, NOW)).toBe(false);
    expect(ownInQuarantine([holder(CUSTOMER, null)], CUSTOMER, NOW)).toBe(false);
    expect(ownInQuarantine([holder(INSTITUTION, 20)], CUSTOMER, NOW)).toBe(false);
  });

  it("releases only an alias the customer holds", () => {
    expect(decideReleaseAlias(profile(), "mama.jane", NOW)).toEqual({ ok: false, code: "alias_not_found" });
  });
});

describe("instruments", () => {
  const card = instrument("c", "visa");

  it("adds, optionally as the default", () => {
    expect(decideAddInstrument(profile(), card, false)).toMatchObject({ ok: true, changes: [{ type: "add_instrument" }] });
    const asDefault = decideAddInstrument(profile(), card, true);
    expect(asDefault).toMatchObject({ ok: true, value: { isDefault: true } });
    if (asDefault.ok) expect(asDefault.changes.map((c) => c.type)).toEqual(["add_instrument", "set_default_instrument"]);
  });

  it("refuses a duplicate alias and too many instruments", () => {
    expect(decideAddInstrument(profile(), instrument("c", "wallet"), false)).toEqual({ ok: false, code: "instrument_alias_taken" });
    const many = Array.from({ length: 10 }, (_, i) => instrument(`i${i}`, `card${i}`));
    expect(decideAddInstrument(profile({}, { instruments: many }), card, false)).toEqual({ ok: false, code: "instrument_limit_reached" });
  });

  it("renames and sets the default by id or alias", () => {
    const p = profile({}, { instruments: [...profile().instruments, card] });
    expect(decideRenameInstrument(p, "VISA", "salary")).toMatchObject({ ok: true, value: { alias: "salary" } });
    expect(decideRenameInstrument(p, "visa", "wallet")).toEqual({ ok: false, code: "instrument_alias_taken" });
    expect(decideRenameInstrument(p, "nope", "salary")).toEqual({ ok: false, code: "instrument_not_found" });
    expect(decideSetDefaultInstrument(p, "c")).toMatchObject({ ok: true, value: { isDefault: true }, changes: [{ type: "set_default_instrument" }] });
    expect(decideSetDefaultInstrument(p, "wallet")).toMatchObject({ ok: true, changes: [] });
  });

  it("never removes the last, the default or the primary wallet", () => {
    expect(decideRemoveInstrument(profile(), "wallet")).toEqual({ ok: false, code: "cannot_remove_last_instrument" });
    const cardDefault = profile({}, {
      instruments: [instrument("w", "wallet", { kind: "wallet", accountId: WALLET_ACCOUNT }), { ...card, isDefault: true }],
    });
    expect(decideRemoveInstrument(cardDefault, "visa")).toEqual({ ok: false, code: "cannot_remove_default_instrument" });
    expect(decideRemoveInstrument(cardDefault, "wallet")).toEqual({ ok: false, code: "cannot_remove_primary_wallet" });
    const p = profile({}, { instruments: [...profile().instruments, card] });
    expect(decideRemoveInstrument(p, "visa")).toMatchObject({ ok: true, changes: [{ type: "remove_instrument", instrumentId: "c" }] });
  });
});

describe("customer updates", () => {
  it("writes only what changes and never touches a closed customer", () => {
    expect(decideUpdateCustomer(profile(), { kycTier: 0 })).toMatchObject({ ok: true, changes: [] });
    expect(decideUpdateCustomer(profile(), { kycTier: 2 })).toMatchObject({ ok: true, value: { kycTier: 2 }, changes: [{ type: "update_customer" }] });
    expect(decideUpdateCustomer(profile({ status: "closed" }), { status: "active" })).toEqual({ ok: false, code: "customer_closed" });
  });
});

// An aggregator's configuration is checked when the channel starts: a bad one stops the start-up
// with a message that names it, rather than serving (or billing) sessions wrongly.
import { describe, expect, it } from "vitest";
import { MemorySessionStore } from "../../src/menus/engine/session-store.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import type { AggregatorConfig } from "../../src/ussd/router.js";
import { FakeBank } from "../helpers/menu-fakes.js";

const SECRET = "config-shared-secret-0123456789";

function start(aggregators: AggregatorConfig[]) {
  const bank = new FakeBank();
  return () =>
    createUssdChannel({
      ports: bank.ports(),
      institutionId: bank.institutionId,
      sessions: new MemorySessionStore(),
      secretKey: Buffer.alloc(32, 5),
      aggregators,
      logger: { info() {}, warn() {}, error() {} },
    });
}

describe("aggregator configuration", () => {
  it("accepts a network code of 5 or 6 digits", () => {
    expect(start([{ name: "hubtel", dialect: "hubtel", secret: SECRET, networkCode: "62001" }])).not.toThrow();
    expect(start([{ name: "gen", dialect: "generic", secret: SECRET, networkCode: "405854" }])).not.toThrow();
  });

  it("refuses any other network code, and a bad or repeated name", () => {
    for (const networkCode of ["6200", "6200123", "MTN", "62 001", ""]) {
      expect(start([{ name: "hubtel", dialect: "hubtel", secret: SECRET, networkCode }]), networkCode).toThrow(/hubtel: networkCode/);
    }
    expect(start([{ name: "Bad Name", dialect: "hubtel", secret: SECRET }])).toThrow(/aggregator name/);
    expect(start([{ name: "at", dialect: "africastalking", secret: SECRET }, { name: "at", dialect: "generic", secret: SECRET }])).toThrow(/duplicate/);
    // The session store's own key prefixes: an aggregator so named could reach another's lock,
    // or (named "index", its session "smpp-") overwrite the Redis store's expiry index; and
    // USSD over SMPP's sessions, whose aggregators are "smpp-<link id>".
    for (const name of ["lock", "resume", "index", "smpp-l1"]) expect(start([{ name, dialect: "generic", secret: SECRET }]), name).toThrow(/reserved/);
  });

  it("refuses a dialect or a secret place it does not know (a typo would have served the generic dialect)", () => {
    for (const dialect of ["AfricasTalking", "hubtel ", "", "json"]) {
      expect(start([{ name: "agg", dialect: dialect as AggregatorConfig["dialect"], secret: SECRET }]), dialect).toThrow(/agg: dialect must be one of africastalking, hubtel, generic/);
    }
    expect(start([{ name: "agg", dialect: "generic", secret: SECRET, secretIn: "query" as AggregatorConfig["secretIn"] }])).toThrow(/agg: secretIn/);
    expect(start([{ name: "agg", dialect: "generic", secret: SECRET, secretIn: "path" }])).not.toThrow();
  });

  it("accepts a service code with or without its extension, and refuses anything else", () => {
    expect(start([{ name: "hubtel", dialect: "hubtel", secret: SECRET, serviceCode: "*711*2#" }])).not.toThrow();
    for (const serviceCode of ["", "711a", "*711*2# ; x"]) {
      expect(start([{ name: "hubtel", dialect: "hubtel", secret: SECRET, serviceCode }]), serviceCode).toThrow(/hubtel: serviceCode/);
    }
  });

  it("refuses an IP allow-list that is not a list of addresses (a range or a name would never match, and lock the aggregator out)", () => {
    expect(start([{ name: "gen", dialect: "generic", secret: SECRET, ipAllowList: ["196.201.214.10", "2001:DB8::1"] }])).not.toThrow();
    for (const ipAllowList of [["196.201.214.0/24"], ["aggregator.example"], ["10.0.0.1", ""], "10.0.0.1"] as string[][]) {
      expect(start([{ name: "gen", dialect: "generic", secret: SECRET, ipAllowList }]), JSON.stringify(ipAllowList)).toThrow(/ipAllowList/);
    }
  });

  it("refuses an operator map whose names are not lower case or whose codes are not MCC+MNC", () => {
    expect(start([{ name: "hubtel", dialect: "hubtel", secret: SECRET, operatorNetworks: { mtn: "62001" } }])).not.toThrow();
    for (const operatorNetworks of [{ MTN: "62001" }, { mtn: "MTN" }, { mtn: "620" }] as Record<string, string>[]) {
      expect(start([{ name: "hubtel", dialect: "hubtel", secret: SECRET, operatorNetworks }])).toThrow(/hubtel: operatorNetworks/);
    }
  });
});

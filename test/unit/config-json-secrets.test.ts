// The aggregators' JSON variables hold their secrets. When one does not parse, the start fails and
// the command line prints why: that reason must not quote the variable's text.
import { describe, expect, it } from "vitest";
import { smsAggregatorsFromEnv } from "../../src/http/sms/mo-router.js";
import { buildUssdGateway, type UssdGatewayDeps } from "../../src/ussd/gateway.js";

const SECRET = "S3cr3tAggregatorValue0123456789";
const INSTITUTION = "01a2276a-2d70-79eb-b69d-888067d4226a";
// Each is a mistake one makes by hand: the secret unquoted, single quotes, a trailing comma.
const MALFORMED = [
  `[{"name":"mtn","dialect":"generic","secret":${SECRET}}]`,
  `[{'name':'mtn','dialect':'generic','secret':'${SECRET}'}]`,
  `[{"name":"mtn","dialect":"generic","secret":"${SECRET}",}]`,
  `[{"name":"mtn","institutionId":"x","secret":"${SECRET}" "header":"x"}]`,
];

/** The reason a start with this value fails (what the command line prints). */
async function ussdStartFailure(value: string): Promise<string> {
  const deps = { services: {}, ledger: {}, logger: { info() {}, warn() {}, error() {} }, env: { FINGATE_USSD_AGGREGATORS: value } } as unknown as UssdGatewayDeps;
  const error = await buildUssdGateway(deps).then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(Error);
  return (error as Error).message;
}

describe("aggregators' JSON in the environment", () => {
  it("FINGATE_USSD_AGGREGATORS that does not parse is named, and no part of its secret is quoted", async () => {
    for (const value of MALFORMED) {
      const message = await ussdStartFailure(value);
      expect(message, value).toMatch(/^FINGATE_USSD_AGGREGATORS is not valid JSON/);
      expect(message, value).not.toMatch(/S3cr|secret|mtn/);
    }
  });

  it("FINGATE_SMS_AGGREGATORS likewise", () => {
    for (const value of MALFORMED) {
      let message = "";
      try {
        smsAggregatorsFromEnv({ FINGATE_SMS_AGGREGATORS: value });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message, value).toMatch(/^FINGATE_SMS_AGGREGATORS is not valid JSON/);
      expect(message, value).not.toMatch(/S3cr|secret|mtn/);
    }
  });

  it("valid JSON still parses", () => {
    const list = smsAggregatorsFromEnv({ FINGATE_SMS_AGGREGATORS: `[{"name":"mtn","institutionId":"${INSTITUTION}","secret":"${SECRET}"}]` });
    expect(list).toEqual([{ name: "mtn", institutionId: INSTITUTION, secret: SECRET }]);
  });

  it("FINGATE_SMS_AGGREGATORS whose institutionId is not an institution's id stops the start (every sender was answered as unknown)", () => {
    for (const institutionId of ["x", "demo-ke", INSTITUTION.toUpperCase(), "00000000-0000-0000-0000-000000000000"]) {
      const value = JSON.stringify([{ name: "mtn", institutionId, secret: SECRET }]);
      expect(() => smsAggregatorsFromEnv({ FINGATE_SMS_AGGREGATORS: value }), institutionId).toThrow("FINGATE_SMS_AGGREGATORS: the institutionId of mtn must be the institution's id (a lower-case UUID)");
    }
  });
});

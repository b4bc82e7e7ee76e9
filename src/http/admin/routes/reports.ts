import { z } from "zod";
import { systemAccountId } from "../../../core/institutions/system-accounts.js";
import { isValidTimeZone } from "../../../core/limits/periods.js";
import type { Institution } from "../../../core/institutions/types.js";
import { dailyTransactionTotals, feesEarned, sessionChargeTotals, type DayRange } from "../../../infra/db/report-queries.js";
import { ANY_BANK_ROLE, API_PREFIX, invalid, PLATFORM_ONLY, refuse, reply, route, type AnyRoute } from "../registry.js";
import { amountOut, dayRangeQuery, institutionParams, localDate, rangeCheck, signedAmountOut } from "../schemas.js";
import type { AdminServices } from "../services.js";

const REPORTS = `${API_PREFIX}/institutions/{institutionId}/reports`;
const READERS = { roles: ANY_BANK_ROLE, platform: false };
/** Days in the institution's time zone, from and to included, at most a quarter. */
const MAX_DAYS = 93;
const range = dayRangeQuery(MAX_DAYS);

const report = <T extends z.ZodRawShape>(row: T) => z.object({ from: z.string(), to: z.string(), timeZone: z.string(), items: z.array(z.object(row)) });

export function reportRoutes(s: AdminServices): AnyRoute[] {
  return [reportTransactions(s), reportSessionCharges(s), reportFees(s), reportAllSessionCharges(s)];
}

/**
 * A report over one institution's local days, in its own time zone. The institution reports
 * differ only in what they read and in the shape of a row.
 */
function institutionReport(s: AdminServices, def: {
  id: string;
  /** After .../reports/. */
  path: string;
  summary: string;
  description: string;
  row: z.ZodRawShape;
  items(institution: Institution, range: DayRange): Promise<unknown[]>;
}): AnyRoute {
  return route({
    id: def.id,
    method: "get",
    path: `${REPORTS}/${def.path}`,
    summary: def.summary,
    tag: "reports",
    access: READERS,
    params: institutionParams,
    query: range,
    success: { status: 200, description: def.description, schema: report(def.row) },
    refusals: ["time_zone_unknown"],
    async handle({ institution, query }) {
      const timeZone = institution!.timezone;
      // Stored before zones were checked against the database's list: said, not a 500.
      if (!(await s.institutions.knowsTimeZone(timeZone))) return refuse("time_zone_unknown");
      return reply({ ...query, timeZone, items: await def.items(institution!, { ...query, timeZone }) });
    },
  });
}

function reportTransactions(s: AdminServices): AnyRoute {
  return institutionReport(s, {
    id: "reportTransactions",
    path: "transactions",
    summary: "Money moved per local day and transfer code (posted transfers touching the institution's accounts)",
    description: "daily totals",
    row: { day: z.string(), code: z.string(), currency: z.string(), count: z.number().int(), amountMinor: amountOut },
    items: (institution, days) => dailyTransactionTotals(s.db, institution.id, days),
  });
}

function reportSessionCharges(s: AdminServices): AnyRoute {
  return institutionReport(s, {
    id: "reportSessionCharges",
    path: "session-charges",
    summary: "USSD sessions, stages and charges per telco and local day, for billing reconciliation",
    description: "per telco and day",
    row: sessionRow,
    items: (institution, days) => sessionChargeTotals(s.db, institution.id, days),
  });
}

function reportFees(s: AdminServices): AnyRoute {
  return institutionReport(s, {
    id: "reportFees",
    path: "fees",
    summary: "Fees earned, agents' commissions and what the bank kept, per local day and payment type",
    description: "per day and type",
    row: {
      day: z.string(), type: z.string(), fees: z.number().int(), feesMinor: amountOut, commissionsMinor: amountOut,
      feesRefundedMinor: amountOut.meta({ description: "fees paid back (a reversed cash-in's refund)" }),
      commissionsClawedBackMinor: amountOut.meta({ description: "commissions taken back from agents (a reversed cash-in's clawback)" }),
      netMinor: signedAmountOut.meta({ description: "fees - commissions - refunds + clawbacks; negative on a day that only gave fees back" }),
    },
    items: (institution, days) => feesEarned(s.db, systemAccountId(institution.id, { kind: "fee_income" }), days),
  });
}

function reportAllSessionCharges(s: AdminServices): AnyRoute {
  return route({
    id: "reportAllSessionCharges",
    method: "get",
    path: `${API_PREFIX}/reports/session-charges`,
    summary: "USSD sessions and charges of every institution per telco and day, for the telcos' invoices",
    tag: "reports",
    access: PLATFORM_ONLY,
    query: z
      .strictObject({ from: localDate, to: localDate, timeZone: z.string().refine(isValidTimeZone, "must be an IANA time zone").default("UTC") })
      .superRefine(rangeCheck(MAX_DAYS)),
    success: { status: 200, description: "per telco and day", schema: report(sessionRow) },
    async handle({ query }) {
      // The database turns the days into instants, and its list of zones is not the runtime's.
      if (!(await s.institutions.knowsTimeZone(query.timeZone))) return invalid([{ path: ["timeZone"], message: "must be an IANA time zone" }], "query");
      return reply({ ...query, items: await sessionChargeTotals(s.db, null, query) });
    },
  });
}

const sessionRow = {
  day: z.string(),
  telcoId: z.string(),
  telcoCode: z.string(),
  currency: z.string().nullable(),
  sessions: z.number().int(),
  stages: z.number().int(),
  chargedMinor: amountOut,
  postedMinor: amountOut,
};

-- The SIM-swap cooling allowance was kept per report (sim_swap_spent, by event id), so a second
-- report while the number was still cooling (a second swap, or the telco reporting the same one
-- again) started a fresh allowance and doubled what a SIM thief could take. It is now kept per
-- number, for the number's cooling run: its overlapping cooling periods taken together. `since`
-- is the start of the run the row counts for (the occurred_at of the run's first report); a spend
-- in a later run (one that began after every earlier cooling had ended) starts again from zero.
CREATE TABLE "sim_swap_allowance" (
    "msisdn" TEXT NOT NULL,
    "since" TIMESTAMPTZ(6) NOT NULL,
    "spent_minor" BIGINT NOT NULL,
    CONSTRAINT "sim_swap_allowance_pkey" PRIMARY KEY ("msisdn"),
    CONSTRAINT "sim_swap_allowance_not_negative" CHECK ("spent_minor" >= 0)
);

-- What was spent per report, summed per number and dated by its latest report: the sum counts in
-- that report's run (the row's start is at or after the run's). Spending of an earlier run of the
-- same number counts too: it errs on the side of safety, and only until the current run ends.
INSERT INTO "sim_swap_allowance" ("msisdn", "since", "spent_minor")
SELECT e."msisdn", max(e."occurred_at"), sum(s."spent_minor")::bigint
FROM "sim_swap_spent" s JOIN "sim_swap_events" e ON e."id" = s."event_id"
GROUP BY e."msisdn";

DROP TABLE "sim_swap_spent";

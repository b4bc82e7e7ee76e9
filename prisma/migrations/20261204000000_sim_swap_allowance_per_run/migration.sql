-- The SIM-swap cooling allowance kept one row per number, for the number's latest cooling run: a
-- spend in a new run (one that began after every earlier cooling had ended) overwrote the row, so
-- what the earlier run spent was forgotten. A late, back-dated report that then joined the two
-- runs into one counted only what the later run had spent, and a customer could spend up to the
-- allowance in each part of what is one cooling. Now one row per run (msisdn, since = the run's
-- start as it was when the row was written): a spend counts every row of the number whose start
-- is at or after the current run's start, so runs that a late report joins count together.
-- Existing rows keep their value as the row of their run (what was overwritten before is lost).
ALTER TABLE "sim_swap_allowance" DROP CONSTRAINT "sim_swap_allowance_pkey";
ALTER TABLE "sim_swap_allowance" ADD CONSTRAINT "sim_swap_allowance_pkey" PRIMARY KEY ("msisdn", "since");
